"""Numba kernels, one namespace per device: ``tinygradcnn.kernels.cpu`` and ``.cuda``.

Kernels take and return plain arrays (NumPy arrays on the CPU, numba device arrays on the
GPU) and never see a ``Tensor``. ``kernels/cpu/x.py`` and ``kernels/cuda/x.py`` hold the same
functions under the same names, so they can be read side by side.
"""
