"""The application commands: data + model + metric + pictures, one module per command.

    faces.py              `python -m tinygradcnn faces`: the parser and the command
    face_training.py      the recognition and verification networks' training
    face_verification.py  FaceVerifier, pair scores, the threshold
    face_pictures.py      misclassified faces, the ROC curve
"""

from .face_verification import FaceVerifier as FaceVerifier
