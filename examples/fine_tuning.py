"""Transfer learning: a ResNet-20 pre-trained on Fashion-MNIST, fine-tuned on 1% of MNIST,
against the same network trained from scratch on that 1%.

    python examples/fine_tuning.py --data-dir ../shared/data        # or $TINYGRADCNN_DATA
    python examples/fine_tuning.py --freeze                          # train the new head only
    python examples/fine_tuning.py --pretrain-epochs 1 --pretrain-limit 2000 --epochs 2 \\
        --test-limit 500                                             # a quick look

The pre-trained network is written as a model file (--pretrained, `tg.save_model`) and read
back by later runs instead of training it again. Fine-tuning follows a torchvision user's
recipe: load the network, replace its head (`model.fc = nn.Linear(64, 10)`), and train with
two parameter groups, the pre-trained layers at a tenth of the head's learning rate; with
--freeze the pre-trained layers get `requires_grad_(False)` and their batch norm stays in
eval mode (its running statistics are part of what was learned). Both runs see the same
small set for the same epochs; the script prints both test accuracies.
"""

import argparse
import os
import time

import numpy as np

import tinygradcnn as tg
from tinygradcnn import data, models, nn, optim
from tinygradcnn.data import transforms as T


class FrozenBackbone(nn.Module):
    """`net` with every layer but `fc` frozen: no gradients, and batch norm in eval mode
    whatever `train()` says (fit calls `model.train()` at each epoch)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        for name, child in net.named_children():
            if name != "fc":
                child.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        for name, child in self.net.named_children():
            if name != "fc":
                child.eval()
        return self

    def forward(self, x):
        return self.net(x)


def small_subset(dataset, fraction: float, seed: int) -> data.Subset:
    """A random `fraction` of `dataset` (the same one for both runs)."""
    count = max(10, round(fraction * len(dataset)))
    indices = np.random.default_rng(seed).permutation(len(dataset))[:count]
    return data.Subset(dataset, np.sort(indices))


def train(model, train_set, epochs, param_groups, args, label) -> float:
    """SGD with Nesterov momentum and a cosine schedule; returns the test accuracy."""
    optimizer = optim.SGD(param_groups, lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    augment = T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
    loader = data.DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed,
                             transform=augment)
    started = time.perf_counter()
    tg.fit(model, loader, epochs, optimizer, scheduler=schedule, device=args.device,
           verbose=0 if args.quiet else 2)
    result = tg.evaluate(model, data.DataLoader(args.test_set, 500), device=args.device)
    print(f"{label}: test accuracy {100 * result['accuracy']:.2f}% "
          f"({time.perf_counter() - started:.0f}s)")
    return result["accuracy"]


def pretrained_network(args) -> nn.Module:
    """The Fashion-MNIST ResNet-20, from --pretrained when it exists, else trained now."""
    if os.path.exists(args.pretrained):
        print(f"pre-trained network: {args.pretrained}")
        return tg.load_model(args.pretrained, device=args.device)
    fashion = data.FashionMNIST(args.data_dir, train=True)
    if args.pretrain_limit:
        fashion = data.Subset(fashion, range(min(args.pretrain_limit, len(fashion))))
    fashion_test = data.FashionMNIST(args.data_dir, train=False)
    if args.test_limit:
        fashion_test = data.Subset(fashion_test, range(args.test_limit))
    model = models.resnet20(in_channels=1, num_classes=10)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    flips = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(28, padding=2)])
    print(f"pre-training resnet20 on {len(fashion)} Fashion-MNIST images, "
          f"{args.pretrain_epochs} epochs")
    tg.fit(model, data.DataLoader(fashion, args.batch_size, shuffle=True, seed=args.seed,
                                  transform=flips),
           args.pretrain_epochs, optimizer, device=args.device,
           scheduler=optim.CosineAnnealingLR(optimizer, T_max=args.pretrain_epochs),
           verbose=0 if args.quiet else 2)
    result = tg.evaluate(model, data.DataLoader(fashion_test, 500), device=args.device)
    print(f"pre-trained: Fashion-MNIST test accuracy {100 * result['accuracy']:.2f}%")
    tg.save_model(model, args.pretrained, input_size=(1, 28, 28))
    print(f"model file: {args.pretrained}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--pretrained", default="runs/fine-tuning/resnet20-fashion.npz",
                        help="model file of the pre-trained network (written when missing)")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--pretrain-limit", type=int, default=None,
                        help="pre-train on the first N Fashion-MNIST images")
    parser.add_argument("--fraction", type=float, default=0.01,
                        help="the share of MNIST's 60,000 training images both runs see")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05, help="the new head's (and scratch)")
    parser.add_argument("--freeze", action="store_true",
                        help="train only the new head (frozen layers, BN in eval)")
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    tg.manual_seed(args.seed)
    mnist = data.MNIST(args.data_dir, train=True)
    args.test_set = data.MNIST(args.data_dir, train=False)
    if args.test_limit:
        args.test_set = data.Subset(args.test_set, range(args.test_limit))
    small = small_subset(mnist, args.fraction, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.pretrained)), exist_ok=True)

    net = pretrained_network(args)
    net.fc = nn.Linear(64, 10)  # a new head for the new task
    net.to(args.device)
    if args.freeze:
        model: nn.Module = FrozenBackbone(net)
        groups = [{"params": list(net.fc.parameters())}]
    else:
        model = net
        backbone = [p for name, p in net.named_parameters() if not name.startswith("fc.")]
        groups = [{"params": backbone, "lr": args.lr / 10},
                  {"params": list(net.fc.parameters())}]
    print(f"fine-tuning on {len(small)} MNIST images ({100 * args.fraction:g}%), "
          f"{args.epochs} epochs{', frozen backbone' if args.freeze else ''}")
    tuned = train(model, small, args.epochs, groups, args, "fine-tuned")

    tg.manual_seed(args.seed)
    scratch = models.resnet20(in_channels=1, num_classes=10).to(args.device)
    print(f"training from scratch on the same {len(small)} images")
    fresh = train(scratch, small, args.epochs, scratch.parameters(), args, "from scratch")
    print(f"\n{100 * args.fraction:g}% of MNIST: fine-tuned {100 * tuned:.2f}% vs from scratch "
          f"{100 * fresh:.2f}% ({100 * (tuned - fresh):+.2f} points from pre-training on "
          "Fashion-MNIST)")


if __name__ == "__main__":
    main()
