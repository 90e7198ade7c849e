"""Face verification, the access-control case: is this the person they claim to be, or
anyone enrolled at all?

    verifier = FaceVerifier(embedder, threshold)
    verifier.enroll("alice", alice_images)          # (k, 1, H, W) photos of one person
    name, score = verifier.verify(image)            # ("alice", 0.83), or (None, 0.21)

Scores are cosine similarities of unit embeddings (1: the same direction). The threshold is
chosen where false accepts and false rejects are equally likely (`choose_threshold`) on
training people that a calibration embedder never saw (the faces command's
`_calibrated_threshold`), never on the people it is used for.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..train.metrics import equal_error_rate
from .face_training import downsample, predict_batches


def embed_faces(model: nn.Module, images: np.ndarray, centre: np.ndarray | None = None
                ) -> np.ndarray:
    """Unit embeddings (N, D) of (N, 1, H, W) faces: the normalised sum of the embeddings of
    each face and its mirror image, so a face and its mirror score the same.

    With `centre` (D,), the mean embedding of the training people (`mean_embedding`), it is
    subtracted before the final normalisation: what all faces share (the trunk's response
    to "a face, lit from above") no longer counts as similarity between two people."""
    mirrored = np.ascontiguousarray(images[..., ::-1])
    embeddings = predict_batches(model, images) + predict_batches(model, mirrored)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    if centre is not None:
        embeddings = embeddings - centre
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def mean_embedding(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """The mean (D,) of the (uncentred) unit embeddings of the training people's faces."""
    return embed_faces(model, images).mean(axis=0)


def pair_scores(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair of distinct images scored by cosine similarity:
    unit embeddings (N, D), labels (N,) -> (same person 0/1, score), each (N (N - 1) / 2,)."""
    first, second = np.triu_indices(len(embeddings), k=1)
    scores = np.sum(embeddings[first] * embeddings[second], axis=1)
    return (labels[first] == labels[second]).astype(np.int64), scores


def choose_threshold(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """The equal-error-rate threshold over all pairs of these (training) people."""
    same, scores = pair_scores(embeddings, labels)
    return equal_error_rate(same, scores)[1]


class FaceVerifier:
    """Enrolled people and a similarity threshold over a face embedding network.

    Args:
        model: maps (N, 1, H, W) images to (N, D) unit embeddings (a `FaceEmbedder`).
        threshold: the cosine similarity a face needs to be accepted as someone enrolled.
        downsample_factor: the model's input is the images downsampled by this factor
            (2: the 64x64 Olivetti faces become the 32x32 the embedder was trained on).
        centre: the training people's mean embedding, subtracted from every embedding
            (`mean_embedding`; the threshold must have been chosen with the same centre).

    Each person's template is the normalised mean of their enrolled embeddings.
    """

    def __init__(self, model: nn.Module, threshold: float, downsample_factor: int = 1,
                 centre: np.ndarray | None = None) -> None:
        self.model = model
        self.centre = None if centre is None else np.asarray(centre, dtype=np.float32)
        self.threshold = float(threshold)
        self.downsample_factor = int(downsample_factor)
        self.templates: dict[str, np.ndarray] = {}

    def embed(self, images) -> np.ndarray:
        """(N, 1, H, W), (1, H, W) or (H, W) images in [0, 1] -> (N, D) unit embeddings."""
        images = np.asarray(images, dtype=np.float32)
        images = images.reshape((-1, 1, *images.shape[-2:])) if images.ndim < 4 else images
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"FaceVerifier: expected grey images (N, 1, H, W), got shape "
                             f"{images.shape}")
        return embed_faces(self.model, downsample(images, self.downsample_factor), self.centre)

    def enroll(self, name: str, images) -> None:
        """Add (or replace) person `name` from one or more photos of them."""
        embeddings = self.embed(images)
        template = embeddings.mean(axis=0)
        self.templates[name] = template / np.linalg.norm(template)

    def verify(self, image) -> tuple[str | None, float]:
        """(name, score) of the enrolled person most similar to `image`, or (None, score)
        when even the best score is below the threshold; the score is a cosine in [-1, 1]."""
        if not self.templates:
            raise ValueError("FaceVerifier.verify: nobody is enrolled (call enroll first)")
        embedding = self.embed(image)
        if embedding.shape[0] != 1:
            raise ValueError(f"FaceVerifier.verify: expected one image, got "
                             f"{embedding.shape[0]}")
        names = list(self.templates)
        scores = np.stack([self.templates[name] for name in names]) @ embedding[0]
        best = int(np.argmax(scores))
        score = float(scores[best])
        return (names[best] if score >= self.threshold else None), score
