"""Scalar code the CPU and the GPU kernels share, once, in plain Python: the random hash, the
per-element optimizer updates, bilinear sampling, the log-sum-exp and the IoU of two boxes.

Like ``kernels/scalar.py`` (the elementwise op math), these functions are compiled by
``kernels/cpu/launch.py`` (Numba) and ``kernels/cuda/launch.py`` (CUDA device functions)
and called from the kernels of both backends, so the two devices cannot drift apart: the
same seed draws the same numbers, and an optimizer step is the same arithmetic on both.
(The CPU softmax keeps a log-sum-exp of its own, over whole rows with the vectorisable
``exp`` of ``kernels/cpu/softmax.py``; the losses of both devices and the GPU log-softmax use
the one below.)
"""

import math

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_SHIFT1, _SHIFT2, _SHIFT3, _MANTISSA_SHIFT = (np.uint64(s) for s in (30, 27, 31, 11))
_INV_2_POW_53 = 1.0 / 9007199254740992.0
_TWO_PI = 6.283185307179586


# ---------------------------------------------------------------------------------------------
# random numbers


def hash_to_unit(seed, counter):
    """SplitMix64 of ``seed + (counter + 1) * golden``, mapped to a float64 in [0, 1).

    Counter-based: element ``i`` of a draw is ``hash_to_unit(seed, i)``, so no generator
    state exists and any thread order or count gives the same numbers. uint64 arithmetic
    wraps around, as the hash needs.
    """
    z = seed + (np.uint64(counter) + _ONE) * _GOLDEN
    z = (z ^ (z >> _SHIFT1)) * _MIX1
    z = (z ^ (z >> _SHIFT2)) * _MIX2
    z = z ^ (z >> _SHIFT3)
    return np.float64(z >> _MANTISSA_SHIFT) * _INV_2_POW_53


def standard_normal(seed, counter):
    """A N(0, 1) sample by Box-Muller on counters 2i and 2i + 1; 1 - u keeps log away from 0."""
    u1 = hash_to_unit(seed, 2 * counter)
    u2 = hash_to_unit(seed, 2 * counter + 1)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(_TWO_PI * u2)


# ---------------------------------------------------------------------------------------------
# optimizer updates of one element (PyTorch's rules; see tinygradcnn/optim/)
#
# Each takes the element's parameter, gradient and state values and returns their new values;
# the kernels read and write the arrays. Scalars in and out, not arrays and an index: an
# array handed to an inlined Numba function is reference-counted on every call, which made
# the CPU loops 5-7x slower (Adam over 48k floats: 900 us against 140 us).
# Each rounds to the parameter's dtype (``type(p)``) where PyTorch's in-place ops do (after
# every mul_/add_/addcmul_ of its single-tensor path), so a float32 run follows PyTorch's
# float32 run and not a float64 one. SGD and Adam, the two the zoo and the CLI train with,
# compute in that dtype outright, with each scalar rounded to it first, as PyTorch's
# tensor-scalar ops do: no float64 lanes and no conversions in their loops. ``maximize``
# ascends: the gradient's sign is flipped first.


def lerp(start, end, weight):
    """``start + weight * (end - start)`` as PyTorch's ``lerp_`` computes it: from the end
    nearer to the result, so weights above 0.5 (betas below 0.5) round the same way."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (type(weight)(1.0) - weight)


def sgd_update(p, g, b, lr, momentum, dampening, weight_decay, nesterov, use_momentum,
               first_step, maximize):
    """One SGD step: ``(param, momentum buffer) -> (param, momentum buffer)``, every
    operation in the parameter's dtype with the scalars rounded to it (see `adam_update`)."""
    dtype = type(p)
    if maximize:
        g = -g
    if weight_decay != 0.0:
        g = g + dtype(weight_decay) * p
    if use_momentum:
        if first_step:
            b = g
        else:
            b = b * dtype(momentum) + dtype(1.0 - dampening) * g
        if nesterov:
            g = g + dtype(momentum) * b
        else:
            g = b
    return p + dtype(-lr) * g, b


def adam_update(p, g, m, v, v_max, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
                step_size, bias_correction2_sqrt, maximize):
    """One Adam/AdamW/AMSGrad step: ``(param, exp_avg, exp_avg_sq, max_exp_avg_sq)`` -> the
    same, updated (``v_max`` is passed through unless ``amsgrad``).

    Every operation is in the parameter's dtype, with each scalar first rounded to it, as
    PyTorch's float32 tensor-scalar ops compute: the same roundings as float64 arithmetic
    rounded after each op, but 8 float32 lanes a vector instead of 4 doubles and no
    conversions (0.7 ns an element over 48k floats on one Zen 3 core, against 4.3).
    """
    dtype = type(p)
    if maximize:
        g = -g
    if weight_decay != 0.0:
        if decoupled:
            p = p * dtype(1.0 - lr * weight_decay)
        else:
            g = g + dtype(weight_decay) * p
    m = lerp(m, g, dtype(1.0 - beta1))
    v = v * dtype(beta2) + dtype(1.0 - beta2) * g * g
    if amsgrad:
        v_max = max(v_max, v)
    root = math.sqrt(v_max) if amsgrad else math.sqrt(v)
    denom = root / dtype(bias_correction2_sqrt) + dtype(eps)
    return p + dtype(-step_size) * (m / denom), m, v, v_max


def nadam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                 bias_correction2, grad_coef, exp_avg_coef):
    """One NAdam step, ``(param, exp_avg, exp_avg_sq)`` -> the same: Adam's moments, then a
    step along the gradient and one along the (Nesterov look-ahead) momentum, with
    coefficients from the mu schedule."""
    dtype = type(p)
    if maximize:
        g = -g
    if decoupled:
        p = dtype(p * (1.0 - lr * weight_decay))
    else:
        g = dtype(g + weight_decay * p)
    m = dtype(lerp(m, g, 1.0 - beta1))
    v = dtype(dtype(v * beta2) + (1.0 - beta2) * g * g)
    denom = dtype(dtype(math.sqrt(dtype(v / bias_correction2))) + eps)
    p = dtype(p + grad_coef * dtype(g / denom))
    return dtype(p + exp_avg_coef * dtype(m / denom)), m, v


def adadelta_update(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One Adadelta step, ``(param, square_avg, acc_delta)`` -> the same: the step is the
    gradient scaled by RMS(past steps) / RMS(past gradients), both running averages with
    decay ``rho``."""
    dtype = type(p)
    if maximize:
        g = -g
    g = dtype(g + weight_decay * p)
    square_avg = dtype(dtype(square_avg * rho) + (1.0 - rho) * g * g)
    std = dtype(math.sqrt(dtype(square_avg + eps)))
    delta = dtype(math.sqrt(dtype(acc_delta + eps)))
    delta = dtype(dtype(delta / std) * g)
    acc_delta = dtype(dtype(acc_delta * rho) + (1.0 - rho) * delta * delta)
    return dtype(p - lr * delta), square_avg, acc_delta


def adagrad_update(p, g, state_sum, clr, eps, weight_decay, maximize):
    """One Adagrad step, ``(param, state_sum)`` -> the same: divide by the root of the sum of
    all past squared gradients (``clr`` is the step's lr, already decayed)."""
    dtype = type(p)
    if maximize:
        g = -g
    g = dtype(g + weight_decay * p)
    state_sum = dtype(state_sum + g * g)
    std = dtype(dtype(math.sqrt(state_sum)) + eps)
    return dtype(p - clr * dtype(g / std)), state_sum


def rmsprop_update(p, g, square_avg, grad_avg, b, lr, alpha, eps, weight_decay, momentum,
                   centered, maximize):
    """One RMSprop step, ``(param, square_avg, grad_avg, momentum buffer)`` -> the same:
    divide by the root of a running average of squared gradients (minus the squared running
    mean when ``centered``), then optional momentum."""
    dtype = type(p)
    if maximize:
        g = -g
    g = dtype(g + weight_decay * p)
    square_avg = dtype(dtype(square_avg * alpha) + (1.0 - alpha) * g * g)
    if centered:
        grad_avg = dtype(lerp(grad_avg, g, 1.0 - alpha))
        avg = dtype(math.sqrt(dtype(square_avg - grad_avg * grad_avg)))
    else:
        avg = dtype(math.sqrt(square_avg))
    avg = dtype(avg + eps)
    if momentum > 0.0:
        b = dtype(dtype(b * momentum) + g / avg)
        return dtype(p - lr * b), square_avg, grad_avg, b
    return dtype(p - lr * dtype(g / avg)), square_avg, grad_avg, b


# ---------------------------------------------------------------------------------------------
# sampling and reductions


def bilinear_sample(images, b, c, x, y, fill):
    """Channel ``c`` of image ``b`` of an (N, C, H, W) array at the point (x, y), pixel (i, j)
    having its centre at (x=j, y=i). Each of the four neighbours outside the image reads
    ``fill`` separately, so edges fade rather than clamp."""
    height, width = images.shape[2], images.shape[3]
    x0 = int(math.floor(x))
    y0 = int(math.floor(y))
    fx = x - x0
    fy = y - y0
    in_x0 = 0 <= x0 < width
    in_x1 = 0 <= x0 + 1 < width
    in_y0 = 0 <= y0 < height
    in_y1 = 0 <= y0 + 1 < height
    v00 = images[b, c, y0, x0] if (in_y0 and in_x0) else fill
    v01 = images[b, c, y0, x0 + 1] if (in_y0 and in_x1) else fill
    v10 = images[b, c, y0 + 1, x0] if (in_y1 and in_x0) else fill
    v11 = images[b, c, y0 + 1, x0 + 1] if (in_y1 and in_x1) else fill
    top = v00 + fx * (v01 - v00)
    bottom = v10 + fx * (v11 - v10)
    return top + fy * (bottom - top)


def log_sum_exp(x, base, count, stride):
    """``log(sum_k exp(x[base + k * stride]))`` over ``count`` values, computed around their
    maximum so that no exponential overflows (and logits of 1e4 give no inf - inf)."""
    peak = x[base]
    for k in range(1, count):
        peak = max(peak, x[base + k * stride])
    total = 0.0
    for k in range(count):
        total += math.exp(x[base + k * stride] - peak)
    return peak + math.log(total)


# ---------------------------------------------------------------------------------------------
# boxes


def box_pair_iou(a, i, b, j):
    """Intersection over union of box ``a[i]`` and box ``b[j]`` (rows x1, y1, x2, y2).

    The intersection is clamped at 0 (disjoint boxes give 0); two empty boxes give 0 / 0 =
    nan, as in torchvision."""
    width = max(min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]), 0.0)
    height = max(min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]), 0.0)
    inter = width * height
    area_a = (a[i, 2] - a[i, 0]) * (a[i, 3] - a[i, 1])
    area_b = (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1])
    return inter / (area_a + area_b - inter)
