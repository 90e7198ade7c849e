"""A small CNN (two conv blocks with batch norm and dropout) on Fashion-MNIST: 93% in 10 epochs.

    python examples/fashion_mnist_cnn.py --data-dir ../shared/data --epochs 10 --augment
"""

import argparse
import os
import time

import tinygradcnn as tg
from tinygradcnn import data, optim
from tinygradcnn.data import transforms as T
from tinygradcnn.models import FashionCNN
from tinygradcnn.train import confusion_matrix, format_confusion_matrix, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=32, help="channels of the first block")
    parser.add_argument("--augment", action="store_true", help="random flips and 2-pixel shifts")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/fashion-cnn")
    args = parser.parse_args()

    tg.manual_seed(args.seed)
    train_full = data.FashionMNIST(args.data_dir, train=True)
    test = data.FashionMNIST(args.data_dir, train=False)
    if args.limit:
        train_full = data.Subset(train_full, range(args.limit))
    train, val = data.train_val_split(train_full, val_fraction=1 / 12, seed=args.seed)
    augment = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(28, padding=2)])
    loader = data.DataLoader(train, args.batch_size, shuffle=True, seed=args.seed,
                             transform=augment if args.augment else None)

    model = FashionCNN(width=args.width)
    tg.summary(model, (1, 28, 28))
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    history = tg.fit(model, loader, args.epochs, optimizer,
                     validation_data=data.DataLoader(val, 500),
                     scheduler=optim.CosineAnnealingLR(optimizer, T_max=args.epochs),
                     callbacks=[tg.EarlyStopping(patience=3)], device=args.device)
    test_loader = data.DataLoader(test, 500)
    result = tg.evaluate(model, test_loader, device=args.device)
    print(f"test accuracy {100 * result['accuracy']:.2f}% after {len(history)} epochs, "
          f"{sum(history['time']) / len(history):.1f}s per epoch "
          f"({time.perf_counter() - started:.0f}s in all)")
    predictions, labels = predict(model, test_loader, device=args.device)
    print(format_confusion_matrix(confusion_matrix(predictions, labels, 10), test.classes))
    tg.save(model.state_dict(), os.path.join(args.out, "weights.npz"))
    history.plot(os.path.join(args.out, "learning_curves.png"), title="CNN on Fashion-MNIST")


if __name__ == "__main__":
    main()
