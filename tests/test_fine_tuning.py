"""Fine-tuning as a torchvision user does it: frozen backbone, a new head, frozen batch norm
kept in eval, parameter groups with their own learning rates."""

from __future__ import annotations

import numpy as np

import tinygradcnn as tg
from tinygradcnn import models, nn, optim


class FrozenBackbone(nn.Module):
    """A ResNet-20 whose convolutional part is frozen (weights and BN statistics) and whose
    head is new: the pattern of examples/fine_tuning.py."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.net = models.resnet20(in_channels=1)
        self.net.requires_grad_(False)
        self.net.fc = nn.Linear(64, num_classes)  # new layers require grad

    def train(self, mode: bool = True):
        super().train(mode)
        for name, child in self.net.named_children():
            if name != "fc":
                child.eval()  # frozen BN: running statistics, no updates
        return self

    def forward(self, x):
        return self.net(x)


def _step(model, optimizer, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_a_frozen_backbone_keeps_its_weights_and_statistics_while_the_head_learns():
    tg.manual_seed(0)
    model = FrozenBackbone(3)
    before = model.state_dict()
    optimizer = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    model.train()
    assert model.training and model.net.fc.training and not model.net.bn1.training
    assert not model.net.layer2[0].bn1.training
    x, y = tg.randn(8, 1, 8, 8), tg.tensor(np.arange(8) % 3)
    _step(model, optimizer, x, y)
    after = model.state_dict()
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    assert changed == {"net.fc.weight", "net.fc.bias"}
    assert all(p.grad is None for name, p in model.named_parameters() if "fc" not in name)


def test_fit_respects_a_models_own_train():
    tg.manual_seed(0)
    model = FrozenBackbone(2)
    x, y = tg.randn(16, 1, 8, 8), tg.tensor(np.arange(16) % 2)
    statistics = model.net.bn1.running_mean.numpy().copy()
    tg.fit(model, tg.data.ArrayDataset(x.numpy(), y.numpy()), 1,
           optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1),
           batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.net.bn1.running_mean.numpy(), statistics)


def test_an_optimizer_over_all_parameters_skips_the_frozen_ones():
    tg.manual_seed(0)
    model = models.resnet20(in_channels=1)
    model.requires_grad_(False)
    model.fc = nn.Linear(64, 2)
    frozen = model.conv1.weight.numpy().copy()
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    model.train()
    _step(model, optimizer, tg.randn(4, 1, 8, 8), tg.tensor([0, 1, 0, 1]))
    np.testing.assert_array_equal(model.conv1.weight.numpy(), frozen)


def test_parameter_groups_take_their_own_learning_rates():
    tg.manual_seed(0)
    model = models.resnet20(in_channels=1, num_classes=2)
    backbone = [p for name, p in model.named_parameters() if not name.startswith("fc.")]
    optimizer = optim.SGD([{"params": backbone, "lr": 0.01},
                           {"params": model.fc.parameters()}], lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 0.1]
    model.eval()
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    _step(model, optimizer, tg.randn(4, 1, 8, 8), tg.tensor([0, 1, 0, 1]))
    for name, p in model.named_parameters():
        lr = 0.1 if name.startswith("fc.") else 0.01
        np.testing.assert_allclose(p.numpy(), before[name] - lr * p.grad.numpy(), rtol=1e-5,
                                   atol=1e-7)
