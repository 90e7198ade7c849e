"""The application commands: data + model + metric + pictures, one module per command.

    faces.py              `python -m tinygradcnn faces`: the parser and the command
    face_training.py      the recognition and verification networks' training
    face_verification.py  FaceVerifier, pair scores, the threshold
    face_detection.py     the face/non-face CNN slid over a photo, NMS, scikit-image's cascade
    face_pictures.py      misclassified faces, the ROC curve, the detections
    detection.py          `python -m tinygradcnn detect`: CenterNet on canvases of digits
    detection_pictures.py detections before and after NMS, precision/recall curves
    sequence.py           `python -m tinygradcnn sequence`: the FCN on a UCR/UEA archive
    sequence_pictures.py  class activation maps over time, the training curve
"""

from .face_verification import FaceVerifier as FaceVerifier
