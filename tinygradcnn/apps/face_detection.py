"""Face detection, the part of the `faces` command that finds where faces are: a small
face/non-face CNN trained on scikit-image's LFW subset, slid over an image pyramid as a heat
map, its windows merged by non-maximum suppression, and compared with scikit-image's LBP
cascade on the same picture (the astronaut) by the IoU of the boxes.

    data = lfw_face_patches(seed=0)                        # 25x25 faces / non-faces, split
    model = train_face_classifier(data["train_images"], data["train_labels"])
    boxes, scores = detect_faces(model, grey_image)        # (K, 4) x1, y1, x2, y2; (K,)

scikit-image is an optional extra (`pip install 'tinygradcnn[faces]'`): its wheel carries
the LFW subset, the astronaut, a few pictures without faces and the cascade's XML file.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from .. import nn
from ..models.faces import FaceDetectorCNN
from ..models.registry import get_model
from ..ops.boxes import box_iou, nms
from ..random import manual_seed
from ..tensor import Tensor
from .face_training import predict_batches, train_faces

PATCH = 25
# scikit-image's own pictures with no face in them: extra negatives, so the detector has
# seen more of the world than 100 non-face patches before it is slid over a whole photo
BACKGROUNDS = ("coffee", "chelsea", "rocket", "coins", "brick", "grass", "gravel", "text",
               "moon", "page", "horse", "clock", "immunohistochemistry", "hubble_deep_field")


def _skimage():
    try:
        import skimage.data
        import skimage.feature
        import skimage.transform
    except ImportError as err:
        raise ImportError("face detection needs scikit-image (the LFW subset, the astronaut "
                          "and the LBP cascade ship in its wheel): pip install "
                          "'tinygradcnn[faces]'") from err
    return skimage


def grey(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3|4) image of any dtype -> (H, W) float32 grey in [0, 1] (ITU-R 601
    luma, as scikit-image's rgb2gray)."""
    image = np.asarray(image)
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    image = image.astype(np.float32) / scale
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    return image


def background_patches(count: int, seed: int = 0) -> np.ndarray:
    """`count` random 25x25 grey patches of scikit-image's pictures without faces, each cut
    from a random square of 25-150 pixels and resized: (count, 25, 25) float32."""
    skimage = _skimage()
    rng = np.random.default_rng(seed)
    pictures = [grey(getattr(skimage.data, name)()) for name in BACKGROUNDS]
    patches = np.empty((count, PATCH, PATCH), dtype=np.float32)
    for k in range(count):
        picture = pictures[int(rng.integers(len(pictures)))]
        side = int(rng.integers(PATCH, min(150, *picture.shape) + 1))
        top = int(rng.integers(picture.shape[0] - side + 1))
        left = int(rng.integers(picture.shape[1] - side + 1))
        patches[k] = skimage.transform.resize(picture[top:top + side, left:left + side],
                                              (PATCH, PATCH), anti_aliasing=True)
    return patches


def lfw_face_patches(test_fraction: float = 0.25, extra_negatives: int = 400,
                     extra_faces: np.ndarray | None = None, seed: int = 0
                     ) -> dict[str, np.ndarray]:
    """scikit-image's LFW subset (the first 100 of its 200 25x25 images are faces) split
    with a seed, `test_fraction` of each class held out. `extra_negatives` background
    patches and the `extra_faces` (K, H, W) in [0, 1] (resized to 25x25: the Olivetti faces,
    cropped as tightly as LFW's) join the training set only, so the held-out accuracy is
    on LFW images alone.
    Returns train/test images (N, 1, 25, 25) float32 and labels (N,) int64 (1: face)."""
    skimage = _skimage()
    if extra_faces is None:
        extra_faces = np.zeros((0, PATCH, PATCH), dtype=np.float32)
    extra_faces = np.stack([skimage.transform.resize(face, (PATCH, PATCH), anti_aliasing=True)
                            for face in extra_faces]).astype(np.float32) if len(extra_faces) \
        else extra_faces.reshape(0, PATCH, PATCH)
    images = skimage.data.lfw_subset().astype(np.float32)
    labels = (np.arange(len(images)) < 100).astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == label))
        held_out = int(round(test_fraction * members.size))
        test.append(members[:held_out])
        train.append(members[held_out:])
    train_rows, test_rows = np.concatenate(train), np.concatenate(test)
    extra = background_patches(extra_negatives, seed=seed)
    return {"train_images": np.concatenate([images[train_rows], extra, extra_faces])[:, None],
            "train_labels": np.concatenate([labels[train_rows],
                                            np.zeros(extra_negatives, dtype=np.int64),
                                            np.ones(len(extra_faces), dtype=np.int64)]),
            "test_images": images[test_rows][:, None], "test_labels": labels[test_rows]}


def train_face_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 12,
                          width: int = 8, seed: int = 0) -> FaceDetectorCNN:
    """A FaceDetectorCNN trained on (N, 1, 25, 25) patches and (N,) labels (1: face) with the
    faces' loop (mirrors, small turns and shifts; AdamW, 1cycle)."""
    manual_seed(seed)
    model = cast(FaceDetectorCNN, get_model("face-detector-cnn", width=width))
    loss_fn = nn.CrossEntropyLoss()
    train_faces(model.parameters(), lambda x, y: loss_fn(model(x), y), [model], images,
                labels, epochs, batch_size=32, seed=seed)
    return model


def face_probability(model: nn.Module, patches: np.ndarray) -> np.ndarray:
    """(N, 1, 25, 25) patches -> (N,) softmax probability of "face"."""
    logits = predict_batches(model, patches, batch_size=512).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return (probabilities[:, 1] / probabilities.sum(axis=1)).astype(np.float32)


def boxes_iou(boxes1, boxes2) -> np.ndarray:
    """IoU of every pair of x1, y1, x2, y2 boxes given as arrays: (N, 4), (M, 4) -> (N, M)
    (the engine's `ops.box_iou`)."""
    first, second = (Tensor(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
                     for boxes in (boxes1, boxes2))
    return box_iou(first, second).numpy()


def detect_faces(model: nn.Module, image: np.ndarray, min_size: int = 40,
                 max_size: int = 200, scale_step: float = 1.25, stride: int = 2,
                 score_threshold: float = 0.95, iou_threshold: float = 0.2
                 ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, np.ndarray]]]:
    """Slide the 25x25 classifier over a pyramid of the grey (H, W) `image`: at each level
    the image is shrunk so that faces of `size` pixels (min_size, then x scale_step up to
    max_size) become 25 pixels, and every window `stride` pixels apart is scored (the mean
    probability of the window and of its mirror image).

    Returns boxes (K, 4) x1, y1, x2, y2 in the image's pixels, their scores (K,) after
    `score_threshold` and NMS, and the heat maps [(face size, (h, w) probabilities)]."""
    skimage = _skimage()
    image = grey(image)
    boxes, scores, heat_maps = [], [], []
    size = float(min_size)
    while size <= max_size:
        shrink = PATCH / size
        level = skimage.transform.rescale(image, shrink, anti_aliasing=True).astype(np.float32)
        if min(level.shape) < PATCH:
            break
        windows = np.lib.stride_tricks.sliding_window_view(level, (PATCH, PATCH))
        windows = windows[::stride, ::stride]
        rows, columns = windows.shape[:2]
        patches = np.ascontiguousarray(windows.reshape(-1, 1, PATCH, PATCH))
        # a face is a face in the mirror too: averaging both halves the chance that one
        # odd texture scores high
        probability = 0.5 * (face_probability(model, patches) + face_probability(
            model, np.ascontiguousarray(patches[..., ::-1])))
        heat_maps.append((size, probability.reshape(rows, columns)))
        hits = np.flatnonzero(probability >= score_threshold)
        top, left = (hits // columns) * stride / shrink, (hits % columns) * stride / shrink
        boxes.append(np.stack([left, top, left + size, top + size], axis=1))
        scores.append(probability[hits])
        size *= scale_step
    all_boxes = np.concatenate(boxes).astype(np.float32) if boxes else np.zeros((0, 4), np.float32)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    keep = nms(Tensor(all_boxes), Tensor(all_scores), iou_threshold).numpy()
    return all_boxes[keep], all_scores[keep], heat_maps


def cascade_faces(image: np.ndarray, min_size: int = 40, max_size: int = 200) -> np.ndarray:
    """scikit-image's LBP frontal-face cascade on the same image (its defaults from the
    scikit-image gallery: scale factor 1.2, step ratio 1) -> boxes (K, 4) x1, y1, x2, y2."""
    skimage = _skimage()
    cascade = skimage.feature.Cascade(skimage.data.lbp_frontal_face_cascade_filename())
    found = cascade.detect_multi_scale(img=grey(image), scale_factor=1.2, step_ratio=1,
                                       min_size=(min_size, min_size),
                                       max_size=(max_size, max_size))
    return np.array([[d["c"], d["r"], d["c"] + d["width"], d["r"] + d["height"]]
                     for d in found], dtype=np.float32).reshape(-1, 4)


def hard_negatives(model: nn.Module, count: int, candidates: int, seed: int = 0) -> np.ndarray:
    """Bootstrapping (Sung and Poggio 1998, as in Viola-Jones and Dalal-Triggs): of
    `candidates` random background patches, the `count` the model finds most face-like:
    (count, 1, 25, 25). Retrained with them, the detector stops firing on the textures it
    confused with faces, which random negatives rarely show it."""
    patches = background_patches(candidates, seed=seed)[:, None]
    worst = np.argsort(-face_probability(model, patches), kind="stable")[:count]
    return patches[worst]


def run_detection(extra_faces: np.ndarray | None = None, epochs: int = 20, width: int = 8,
                  seed: int = 0, min_size: int = 60, max_size: int = 123,
                  candidates: int = 3200) -> dict:
    """The faces command's detection part: train on the LFW split (plus background patches
    and `extra_faces`), then again with the hardest of many more background patches; score
    the held-out LFW patches; detect on the astronaut with ours and with the cascade (faces
    of min_size..max_size pixels, the scikit-image gallery's range for this picture); match
    the boxes."""
    skimage = _skimage()
    data = lfw_face_patches(extra_faces=extra_faces, seed=seed)
    images, labels = data["train_images"], data["train_labels"]
    # the first network only has to pick the hard negatives: a third of the epochs will do
    model = train_face_classifier(images, labels, epochs=max(epochs // 3, 1), width=width,
                                  seed=seed)
    hard = hard_negatives(model, count=candidates // 8, candidates=candidates, seed=seed + 1)
    images = np.concatenate([images, hard])
    labels = np.concatenate([labels, np.zeros(len(hard), dtype=np.int64)])
    model = train_face_classifier(images, labels, epochs=epochs, width=width, seed=seed)
    predicted = face_probability(model, data["test_images"]) >= 0.5
    correct = int(np.sum(predicted == data["test_labels"].astype(bool)))
    astronaut = grey(skimage.data.astronaut())
    boxes, scores, heat_maps = detect_faces(model, astronaut, min_size=min_size,
                                            max_size=max_size)
    reference = cascade_faces(astronaut, min_size=min_size, max_size=max_size)
    # each cascade face matched with the box of ours that overlaps it most
    matched = boxes_iou(reference, boxes).max(axis=1) if len(boxes) else np.zeros(len(reference))
    return {"model": model, "held_out_accuracy": correct / len(predicted),
            "held_out_correct": correct, "held_out_count": int(len(predicted)),
            "image": astronaut, "boxes": boxes, "scores": scores, "heat_maps": heat_maps,
            "cascade_boxes": reference, "iou_with_cascade": matched}
