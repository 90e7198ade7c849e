"""`python -m tinygradcnn faces`: face recognition and verification on the Olivetti faces.

    python -m tinygradcnn faces --data-dir ../shared/data --out runs/faces
    python -m tinygradcnn faces --quick            # a smoke run of a few seconds

Recognition: a FaceCNN (or an ensemble of them from seeds s, s + 1, ...: SETTINGS) learns
the 40 people from 5 photos each (a fixed seeded split) and is scored on the other 5 (the
logits of a face and of its mirror image added).
Verification: a FaceEmbedder trained with CosFace on 30 people; every pair of the 10 people
it never saw is scored by cosine similarity (EER, ROC AUC), and a FaceVerifier with the
threshold chosen on the 30 enrols each unseen person from 5 photos and checks the rest.
Verification scores are cosines of embeddings centred on the 30 training people's mean.
Detection: a face/non-face CNN on scikit-image's LFW subset (plus the Olivetti faces and
background patches, then bootstrapped hard negatives), slid over an image pyramid of the
astronaut with NMS and compared with scikit-image's LBP cascade by IoU (needs scikit-image:
`pip install 'tinygradcnn[faces]'`; without it that line says so and the rest runs).
Prints one table, writes results.json, misclassified.png, roc.png, detections.png and the
trained networks as whole-model files (`tg.load_model`: recognizer0.npz, embedder.npz with
embedder_centre.npy, detector.npz) to --out.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time

import numpy as np

from ..atomic import atomic_write_bytes, write_json
from ..data.faces import OlivettiFaces, olivetti_split
from ..models.files import save_model
from ..train.metrics import equal_error_rate, roc_auc_score, roc_curve
from .face_training import downsample, predict_batches, train_embedder, train_recognizer
from .face_verification import (
    FaceVerifier,
    choose_threshold,
    embed_faces,
    mean_embedding,
    pair_scores,
)

# full run / --quick: epochs, first-block width, downsampling of the 64x64 faces, and how
# many recognition networks vote
# (recognition: 120 epochs at lr 6e-3 gave 97.0-97.5% on seeds 0-2 where 60 at 3e-3 gave
# 94-96%; more epochs did not help the embedder)
SETTINGS = {"full": {"epochs": 60, "recognition_epochs": 120, "recognition_lr": 6e-3,
                     "width": 16, "factor": 2, "ensemble": 1,
                     "detection_epochs": 20, "detection_width": 8, "candidates": 3200},
            "quick": {"epochs": 2, "recognition_epochs": 2, "recognition_lr": 6e-3,
                      "width": 4, "factor": 4, "ensemble": 1,
                      "detection_epochs": 1, "detection_width": 4, "candidates": 160}}
VERIFICATION_PEOPLE = 30
CALIBRATION_PEOPLE = 6      # of the 30, left out of the embedder that sets the threshold


def add_faces_parser(subparsers) -> argparse.ArgumentParser:
    """The `faces` command's arguments, added to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "faces", help="face recognition and verification on the Olivetti faces")
    parser.add_argument("--data-dir", default=None,
                        help="folder with olivettifaces.mat (default: $TINYGRADCNN_DATA, else "
                             "~/.cache/tinygradcnn, downloading it when missing)")
    parser.add_argument("--out", default=os.path.join("runs", "faces"),
                        help="output folder (default: runs/faces)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny networks, 2 epochs, 16x16 faces: checks the pipeline only")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of each network (default: 120 for recognition, 60 for "
                             "verification; 2 with --quick)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the people held out and the training")
    return parser


def _recognition(faces: OlivettiFaces, settings: dict, seed: int) -> dict:
    train, test = olivetti_split(faces.labels, train_per_person=5, seed=seed)
    images = downsample(faces[np.arange(len(faces))][0], settings["factor"])
    test_images = images[test]
    mirrored = np.ascontiguousarray(test_images[..., ::-1])
    models, logits = [], 0.0
    # an ensemble of networks from different seeds: their logits, and their mirror images',
    # are added, which averages out the mistakes each makes from 5 photos per person
    for member in range(settings["ensemble"]):
        model = train_recognizer(images[train], faces.labels[train],
                                 epochs=settings["recognition_epochs"],
                                 width=settings["width"], seed=seed + member,
                                 lr=settings["recognition_lr"])
        logits = logits + predict_batches(model, test_images) + predict_batches(model, mirrored)
        models.append(model)
    predicted = np.asarray(logits).argmax(axis=1)
    true = faces.labels[test]
    wrong = np.flatnonzero(predicted != true)
    return {"models": models, "accuracy": float(np.mean(predicted == true)),
            "test_count": int(test.size), "wrong": wrong, "test": test,
            "predicted": predicted, "true": true, "train": train}


def _calibrated_threshold(images: np.ndarray, labels: np.ndarray, settings: dict,
                          seed: int) -> float:
    """The decision threshold, from the training people only: a calibration embedder learns
    all but CALIBRATION_PEOPLE of them, and the EER threshold over every pair of the people it
    left out is the threshold. An embedder separates the people it was trained on far better
    than new ones: the EER threshold over its own training people (0.74 on seed 0) rejected
    43% of the genuine pairs of the unseen people; chosen this way, the threshold sits where
    new people's scores are."""
    people = np.random.default_rng(seed + 1).permutation(int(labels.max()) + 1)
    held_out = np.isin(labels, people[:CALIBRATION_PEOPLE])
    fitted = np.sort(people[CALIBRATION_PEOPLE:])
    calibration = train_embedder(images[~held_out], np.searchsorted(fitted, labels[~held_out]),
                                 epochs=settings["epochs"], width=settings["width"],
                                 seed=seed + 1)
    centre = mean_embedding(calibration, images[~held_out])
    return choose_threshold(embed_faces(calibration, images[held_out], centre),
                            labels[held_out])


def _verification(faces: OlivettiFaces, settings: dict, seed: int) -> dict:
    people = np.random.default_rng(seed).permutation(int(faces.labels.max()) + 1)
    known, unseen = np.sort(people[:VERIFICATION_PEOPLE]), np.sort(people[VERIFICATION_PEOPLE:])
    images = downsample(faces[np.arange(len(faces))][0], settings["factor"])
    known_rows = np.flatnonzero(np.isin(faces.labels, known))
    unseen_rows = np.flatnonzero(np.isin(faces.labels, unseen))
    # CosFace's classes are 0..29: relabel the known people in order
    known_labels = np.searchsorted(known, faces.labels[known_rows])
    embedder = train_embedder(images[known_rows], known_labels, epochs=settings["epochs"],
                              width=settings["width"], seed=seed)
    centre = mean_embedding(embedder, images[known_rows])
    threshold = _calibrated_threshold(images[known_rows], known_labels, settings, seed)

    same, scores = pair_scores(embed_faces(embedder, images[unseen_rows], centre),
                               faces.labels[unseen_rows])
    fpr, tpr, _ = roc_curve(same, scores)
    eer, _ = equal_error_rate(same, scores)
    accepted = scores >= threshold
    # the access-control run: enrol each unseen person from 5 photos, present the other 5
    verifier = FaceVerifier(embedder, threshold, downsample_factor=settings["factor"],
                            centre=centre)
    pixels = faces[np.arange(len(faces))][0]
    presented = []
    for person in unseen:
        rows = np.flatnonzero(faces.labels == person)
        verifier.enroll(f"person {person}", pixels[rows[:5]])
        presented += [(f"person {person}", row) for row in rows[5:]]
    correct = sum(verifier.verify(pixels[row])[0] == name for name, row in presented)
    return {"model": embedder, "centre": centre, "eer": eer,
            "auc": roc_auc_score(same, scores), "fpr": fpr, "tpr": tpr, "threshold": threshold,
            "pairs": int(same.size),
            "genuine_pairs": int(same.sum()),
            "false_accept_rate": float(np.mean(accepted[same == 0])),
            "false_reject_rate": float(np.mean(~accepted[same == 1])),
            "verifier_correct": int(correct), "verifier_presented": len(presented),
            "unseen_people": unseen.tolist()}


def _detection(faces, settings: dict, seed: int) -> tuple[dict | None, str]:
    """Run the face detector (None and the reason when scikit-image is missing) and its
    table line."""
    from .face_detection import run_detection

    try:
        # the Olivetti faces join LFW's 75 training faces as positives (64x64 -> 25x25)
        detection = run_detection(faces[np.arange(len(faces))][0][:, 0],
                                  epochs=settings["detection_epochs"],
                                  width=settings["detection_width"], seed=seed,
                                  candidates=settings["candidates"])
    except ImportError as err:
        print(f"faces: detection skipped: {err}", file=sys.stderr)
        return None, f"skipped: {err}"
    iou = detection["iou_with_cascade"]
    best = f"{iou.max():.2f}" if iou.size else "n/a (the cascade found none)"
    line = (f"held-out accuracy {100 * detection['held_out_accuracy']:.1f}% "
            f"({detection['held_out_correct']}/{detection['held_out_count']} LFW patches); "
            f"astronaut: IoU vs the LBP cascade {best} ({len(detection['boxes'])} boxes ours, "
            f"{len(detection['cascade_boxes'])} the cascade's)")
    return detection, line


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def faces_command(args) -> int:
    """Run recognition and verification, print the table, write results and pictures."""
    started, cpu_started = time.perf_counter(), time.process_time()
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    if args.epochs is not None:
        if args.epochs < 1:
            print(f"faces: --epochs must be at least 1, got {args.epochs}", file=sys.stderr)
            return 2
        settings["epochs"] = settings["recognition_epochs"] = args.epochs
    try:
        faces = OlivettiFaces(args.data_dir, download=args.data_dir is None)
    except (OSError, ValueError, RuntimeError) as err:  # missing, corrupt or unreadable file
        print(f"faces: cannot read the Olivetti faces: {err}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    side = 64 // int(settings["factor"])
    print(f"Olivetti faces: {len(faces)} images of {faces.num_classes} people, trained at "
          f"{side}x{side}, {settings['recognition_epochs']} epochs (recognition) and "
          f"{settings['epochs']} (verification) per network")

    recognition = _recognition(faces, settings, args.seed)
    verification = _verification(faces, settings, args.seed)
    detection, detection_line = _detection(faces, settings, args.seed)
    cpu_seconds = time.process_time() - cpu_started
    tested = recognition["test_count"]
    rows = [
        ("recognition test accuracy",
         f"{100 * recognition['accuracy']:.2f}% ({tested - len(recognition['wrong'])}/{tested}"
         ", 40 people, 5 photos each to train)"),
        ("verification EER", f"{100 * verification['eer']:.2f}% ({verification['pairs']} "
                             f"pairs of 10 unseen people, {verification['genuine_pairs']} "
                             "genuine)"),
        ("verification ROC AUC", f"{verification['auc']:.4f}"),
        ("threshold (30 training people)", f"{verification['threshold']:.3f} cosine: false "
         f"accepts {100 * verification['false_accept_rate']:.2f}%, false rejects "
         f"{100 * verification['false_reject_rate']:.2f}%"),
        ("verifier, 5 photos enrolled",
         f"{verification['verifier_correct']}/{verification['verifier_presented']} "
         "other photos recognised and accepted"),
        ("detection", detection_line),
        ("time", f"{cpu_seconds:.0f} s CPU, {time.perf_counter() - started:.0f} s wall"),
    ]
    print(_table(rows))

    written = []
    side_input = (1, side, side)
    for member, model in enumerate(recognition["models"]):
        written.append(f"recognizer{member}.npz")
        save_model(model, os.path.join(args.out, written[-1]), input_size=side_input)
    save_model(verification["model"], os.path.join(args.out, "embedder.npz"),
               input_size=side_input)
    centre = io.BytesIO()
    np.save(centre, verification["centre"])
    atomic_write_bytes(os.path.join(args.out, "embedder_centre.npy"), centre.getvalue())
    written += ["embedder.npz", "embedder_centre.npy"]
    if detection is not None:
        save_model(detection["model"], os.path.join(args.out, "detector.npz"),
                   input_size=(1, 25, 25))
        written.append("detector.npz")
    written.append("results.json")
    results = {"recognition_test_accuracy": recognition["accuracy"],
               "verification_eer": verification["eer"], "verification_auc": verification["auc"],
               **{key: verification[key] for key in (
                   "threshold", "false_accept_rate", "false_reject_rate", "pairs",
                   "verifier_correct", "verifier_presented", "unseen_people")},
               "misclassified": recognition["test"][recognition["wrong"]].tolist(),
               **({} if detection is None else {
                   "detection_held_out_accuracy": detection["held_out_accuracy"],
                   "detection_boxes": detection["boxes"].tolist(),
                   "detection_scores": detection["scores"].tolist(),
                   "cascade_boxes": detection["cascade_boxes"].tolist(),
                   "iou_with_cascade": detection["iou_with_cascade"].tolist()}),
               "cpu_seconds": cpu_seconds, "settings": settings, "seed": args.seed}
    write_json(os.path.join(args.out, "results.json"), results)
    try:
        _pictures(faces, recognition, verification, args.out)
        written += ["misclassified.png", "roc.png"]
        if detection is not None:
            _detection_picture(detection, args.out)
            written.append("detections.png")
    except ImportError:
        print("(matplotlib is not installed: no pictures)")
    print(f"wrote {', '.join(written)} to {args.out}/")
    return 0


def _detection_picture(detection: dict, out: str) -> None:
    from .face_pictures import plot_detections

    # the heat map of the level whose best window scored highest
    level = max(detection["heat_maps"], key=lambda entry: float(entry[1].max()))
    plot_detections(detection["image"], detection["boxes"], detection["scores"],
                    detection["cascade_boxes"], level, os.path.join(out, "detections.png"))


def _pictures(faces: OlivettiFaces, recognition: dict, verification: dict, out: str) -> None:
    from .face_pictures import plot_misclassified, plot_roc

    pixels = faces[np.arange(len(faces))][0][:, 0]
    wrong = recognition["wrong"]
    gallery = {int(person): pixels[recognition["train"][person * 5]]
               for person in recognition["predicted"][wrong]}
    plot_misclassified(pixels[recognition["test"][wrong]], recognition["true"][wrong],
                       recognition["predicted"][wrong], gallery,
                       os.path.join(out, "misclassified.png"))
    plot_roc(verification["fpr"], verification["tpr"], verification["auc"], verification["eer"],
             os.path.join(out, "roc.png"),
             title=f"verification on {len(verification['unseen_people'])} unseen people")
