"""Training the face networks: recognition (a classifier of the people it was trained on)
and verification (an embedding trained with the CosFace margin, used on people it never
saw). Both share one small loop: augmented mini-batches, AdamW and a 1cycle schedule
stepped every batch.

    recognizer = train_recognizer(images, labels, epochs=40)        # FaceCNN, 40 logits
    embedder = train_embedder(images, labels, epochs=40)            # FaceEmbedder
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..data import transforms as T
from ..models.faces import CosFace, FaceCNN, FaceEmbedder
from ..models.registry import get_model
from ..random import manual_seed
from ..tensor import Tensor


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Area (box-filter) downsampling by an integer factor: (N, C, H, W) ->
    (N, C, H // factor, W // factor). Faces halved to 32x32 keep what tells people apart
    and train four times faster."""
    if factor == 1:
        return images
    n, c, height, width = images.shape
    if height % factor or width % factor:
        raise ValueError(f"downsample: image size {height}x{width} is not a multiple of "
                         f"factor {factor}")
    return images.reshape(n, c, height // factor, factor, width // factor, factor).mean((3, 5))


def face_augmentation() -> T.Transform:
    """Mirror faces, then turn them by up to 10 degrees, shift them by up to 8% and zoom by
    0.9-1.1: the pose changes between a person's photos, not new identities."""
    return T.Compose([T.RandomHorizontalFlip(),
                      T.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1))])


@dataclass
class TrainingRun:
    """What `train_faces` measured: the mean loss of every epoch."""

    losses: list[float]


def train_faces(parameters, batch_loss: Callable[[Tensor, Tensor], Tensor],
                modules: list[nn.Module], images: np.ndarray, labels: np.ndarray,
                epochs: int, batch_size: int = 25, lr: float = 3e-3, weight_decay: float = 5e-4,
                seed: int = 0) -> TrainingRun:
    """Train on (N, 1, H, W) float images and (N,) int64 labels for `epochs` epochs.

    `batch_loss(images, labels)` -> scalar loss of one augmented batch; `modules` are put in
    training mode for the loop and in eval mode after it. AdamW with OneCycleLR (warm-up
    then cosine decay to lr / 1e4 over all the batches) makes a few hundred steps enough."""
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    steps = max(len(images) // batch_size, 1)
    optimizer = optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    schedule = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                             steps_per_epoch=steps)
    augment = face_augmentation()
    for module in modules:
        module.train()
    losses = []
    for _ in range(epochs):
        order, total = rng.permutation(len(images)), 0.0
        for step in range(steps):
            batch = order[step * batch_size:(step + 1) * batch_size]
            x = augment(images[batch], seed=int(rng.integers(1 << 62)))
            loss = batch_loss(Tensor(x), Tensor(labels[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        losses.append(total / steps)
    for module in modules:
        module.eval()
    return TrainingRun(losses)


def train_recognizer(images: np.ndarray, labels: np.ndarray, epochs: int = 40,
                     width: int = 16, seed: int = 0, **options) -> FaceCNN:
    """A FaceCNN classifying the people in `labels` (0..K-1), trained with label smoothing
    0.1 (five photos per person: confident logits would only memorise them)."""
    manual_seed(seed)
    model = cast(FaceCNN, get_model("face-cnn", num_classes=int(labels.max()) + 1,
                                    width=width, input_size=images.shape[-1]))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    train_faces(model.parameters(), lambda x, y: loss_fn(model(x), y), [model], images,
                labels, epochs, seed=seed, **options)
    return model


def train_embedder(images: np.ndarray, labels: np.ndarray, epochs: int = 40, width: int = 16,
                   embedding_dim: int = 64, seed: int = 0, **options) -> FaceEmbedder:
    """A FaceEmbedder trained as a classifier of the people in `labels` through a CosFace
    head (dropped afterwards): the additive cosine margin leaves the people apart by angle,
    which is what cosine scoring of unseen people needs."""
    manual_seed(seed)
    embedder = cast(FaceEmbedder, get_model("face-embedder", width=width,
                                            input_size=images.shape[-1],
                                            embedding_dim=embedding_dim))
    head = CosFace(embedding_dim, int(labels.max()) + 1)
    loss_fn = nn.CrossEntropyLoss()
    train_faces([*embedder.parameters(), *head.parameters()],
                lambda x, y: loss_fn(head(embedder.net(x), y), y), [embedder, head],
                images, labels, epochs, seed=seed, **options)
    return embedder


def predict_batches(model: nn.Module, images: np.ndarray, batch_size: int = 100) -> np.ndarray:
    """`model` in eval mode over (N, 1, H, W) images in batches, without gradients -> the
    (N, ...) outputs as one array."""
    model.eval()
    outputs = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            outputs.append(model(Tensor(images[start:start + batch_size])).numpy())
    return np.concatenate(outputs)
