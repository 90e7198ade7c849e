"""ONNX export: every exported file passes the ONNX checker, and onnxruntime's outputs at
batch 1 and at another batch size match the engine's eval forward to 1e-4 (float32).

The small models below exercise every exporter of the table; the errors (an op without an
exporter, dropout forced into training, Python control flow on tensor values, an in-place
write) name the op and the layer. The zoo models are exported by tests/test_zoo*.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygradcnn as tg  # noqa: E402
import tinygradcnn.nn.functional as F  # noqa: E402
from tinygradcnn import nn  # noqa: E402
from tinygradcnn.models import INPUT_SIZES, get_model, list_models  # noqa: E402
from tinygradcnn.onnx import ExportError, export  # noqa: E402
from tinygradcnn.onnx.exporters import EXPORTERS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def roundtrip(model, shape, tmp_path, batches=(1, 3), seed=0, **options):
    """Export ``model`` for inputs of ``shape`` (without the batch), check the file, and
    compare onnxruntime with the engine at each batch size; returns the ONNX model."""
    rng = np.random.default_rng(seed)
    path = str(tmp_path / "model.onnx")
    example = tg.tensor(rng.standard_normal((2, *shape)).astype(np.float32))
    export(model, example, path, **options)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    model.eval()
    for batch in batches:
        x = rng.standard_normal((batch, *shape)).astype(np.float32)
        with tg.no_grad():
            output = model(tg.tensor(x))
        # a dict of outputs (a detector's heads) exports one output per entry, in order
        outputs = output.values() if isinstance(output, dict) else [output]
        for got, expected in zip(session.run(None, {"input": x}), outputs, strict=True):
            expected = expected.numpy()
            assert got.shape == expected.shape
            # 1e-4 of the output's scale: an untrained 100-layer ResNet's logits reach 1e4,
            # where float32 sums in another order differ by more than 1e-4 in absolute terms
            scale = max(1.0, float(np.abs(expected).max()))
            np.testing.assert_allclose(got, expected, atol=1e-4 * scale, rtol=1e-4)
    return proto


def ops_of(proto) -> set[str]:
    return {node.op_type for node in proto.graph.node}


class Lambda(nn.Module):
    """A layer whose forward is ``fn`` (so each test's ops run inside a named layer)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_lenet5_matches_onnxruntime_with_a_dynamic_batch(tmp_path):
    tg.manual_seed(0)
    proto = roundtrip(get_model("lenet5"), (1, 28, 28), tmp_path, batches=(1, 5))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    names = {init.name for init in proto.graph.initializer}
    assert {"features.0.weight", "classifier.1.bias"} <= names
    assert ops_of(proto) >= {"Conv", "Relu", "MaxPool", "Gemm"}


def test_lenet5_tanh_avg_pool_and_eval_dropout(tmp_path):
    tg.manual_seed(1)
    model = get_model("lenet5", activation="tanh", pool="avg", dropout=0.3, input_size=8)
    proto = roundtrip(model, (1, 8, 8), tmp_path)
    assert "Dropout" not in ops_of(proto) and "AveragePool" in ops_of(proto)


def test_fashion_cnn_batchnorm_exports_and_folds(tmp_path):
    tg.manual_seed(2)
    model = get_model("fashion-cnn", width=8)
    for module in model.modules():  # non-trivial running statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.data[:] = np.linspace(-1, 1, module.num_features)
            module.running_var.data[:] = np.linspace(0.5, 2, module.num_features)
    assert "BatchNormalization" in ops_of(roundtrip(model, (1, 28, 28), tmp_path))
    folded = roundtrip(model, (1, 28, 28), tmp_path, fold_batchnorm=True)
    assert "BatchNormalization" not in ops_of(folded)


def test_static_batch_fixes_the_batch_axis(tmp_path):
    proto = roundtrip(get_model("lenet5", input_size=8), (1, 8, 8), tmp_path, batches=(2,),
                      dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2


class ResidualBlock(nn.Module):
    """conv-BN-ReLU, depthwise dilated conv-BN, plus the identity; then ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=2, dilation=2,
                                   groups=channels)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.depthwise(out)) + x)


def test_residual_block_with_depthwise_dilated_conv(tmp_path):
    tg.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), ResidualBlock(4),
                          nn.Conv2d(4, 4, 4, padding="same"),  # asymmetric padding
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    proto = roundtrip(model, (3, 11, 11), tmp_path)
    assert ops_of(proto) >= {"Conv", "BatchNormalization", "Add", "GlobalAveragePool"}
    folded = roundtrip(model, (3, 11, 11), tmp_path, fold_batchnorm=True)
    assert "BatchNormalization" not in ops_of(folded)


ACTIVATIONS = {
    "relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh, "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "elu": lambda x: F.elu(x, 0.7),
    "clamp": lambda x: x.clamp(0.0, 6.0), "clamp_min": lambda x: x.clamp(min=-0.5),
    "exp_log_sqrt_abs": lambda x: (x.abs() + 1).log().sqrt() + (-x).exp(),
    "pow_max_min": lambda x: tg.maximum(x, x * 0.5) ** 2 + tg.minimum(x, 0.1),
}


@pytest.mark.parametrize("opset", [13, 17, 20])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name, opset, tmp_path):
    roundtrip(Lambda(ACTIVATIONS[name]), (3, 4), tmp_path, opset=opset)


POOLS = {
    "max_ceil_pad": lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
    "max_dilated": lambda x: F.max_pool2d(x, 2, 1, dilation=2),
    "avg_no_pad_count": lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    "avg_ceil": lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_ceil_exclude_pad": lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True,
                                                   count_include_pad=False),
    "avg_divisor": lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    "sum_pool": lambda x: F.sum_pool2d(x, 2),
    "sum_pool_ceil": lambda x: F.sum_pool2d(x, 2, ceil_mode=True),
    "adaptive_divisible": lambda x: F.adaptive_avg_pool2d(x, (3, 1)),
    "adaptive_global": lambda x: F.adaptive_avg_pool2d(x, 1),
    "adaptive_unequal_windows": lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
    "adaptive_upsampling": lambda x: F.adaptive_avg_pool2d(x, (11, 7)),
}


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("name", sorted(POOLS))
def test_pools(name, opset, tmp_path):
    roundtrip(Lambda(POOLS[name]), (2, 9, 7), tmp_path, opset=opset)


SHAPES = {
    "view_flatten": lambda x: x.view(x.shape[0], -1).flatten(1),
    "reshape_into_the_batch": lambda x: x.reshape(-1, 5) * 2.0,
    "permute_transpose": lambda x: x.permute(0, 2, 3, 1).transpose(1, 2),
    "cat": lambda x: tg.cat([x, x * 2.0], dim=1),
    "mean": lambda x: x.mean((2, 3)) + x.mean(1, keepdim=True).sum(),
    "amax_amin": lambda x: x.amax(1) - x.amin((2, 3), keepdim=True).mean(1),
    "softmax": lambda x: F.softmax(x, dim=1) + F.log_softmax(x, dim=-1),
    "slicing": lambda x: x[:, 1:, ::2, -1] + x[:, 0, None, 0, :3].sum(),
    "broadcast_consts": lambda x: (x - x.mean(1, keepdim=True)) / 2.0 + 1 - x * x,
    "matmul": lambda x: x.flatten(2) @ x.flatten(2).transpose(1, 2),
    "pad": lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
    "nearest": lambda x: F.interpolate(x, scale_factor=2),
    "nearest_size": lambda x: F.interpolate(x, size=(7, 3)),
    "bilinear": lambda x: F.interpolate(x, size=(6, 9), mode="bilinear"),
    "bilinear_corners": lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear",
                                                align_corners=True),
    "where": lambda x: tg.where(tg.ones(x.shape[1:]) > 0, x, 0.0),
}


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_reduce_and_resize_ops(name, opset, tmp_path):
    roundtrip(Lambda(SHAPES[name]), (3, 4, 5), tmp_path, opset=opset)


def test_layer_norm_and_linear_on_3d_input(tmp_path):
    tg.manual_seed(4)
    model = nn.Sequential(nn.LayerNorm(5), nn.Linear(5, 6), nn.GELU(), nn.LayerNorm((4, 6)))
    proto = roundtrip(model, (4, 5), tmp_path)
    assert "LayerNormalization" in ops_of(proto)
    with pytest.raises(ExportError, match=r"LayerNorm in layer '0'.*opset >= 17"):
        export(model, tg.zeros((1, 4, 5)), str(tmp_path / "old.onnx"), opset=16)


def test_every_exporter_is_registered_by_function_name():
    from tinygradcnn.ops import conv, norm, pool, shape, softmax

    for function in (conv.Conv2d, norm.BatchNorm, norm.LayerNorm, pool.MaxPool2d,
                     pool.AvgPool2d, pool.AdaptiveAvgPool2d, shape.Reshape, shape.Permute,
                     shape.Cat, shape.GetItem, softmax.Softmax, softmax.LogSoftmax):
        assert function.__name__ in EXPORTERS


def test_an_op_without_exporter_names_the_op_and_the_layer(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), Lambda(lambda x: x.cumsum(1)))
    with pytest.raises(ExportError, match=r"Cumsum in layer '1': no ONNX exporter"):
        export(model, tg.zeros((1, 1, 5, 5)), str(tmp_path / "m.onnx"))


def test_dropout_forced_into_training_is_refused(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), Lambda(lambda x: F.dropout(x, 0.5, training=True)))
    with pytest.raises(ExportError, match=r"Dropout in layer '1'.*training"):
        export(model, tg.zeros((2, 3)), str(tmp_path / "m.onnx"))


def test_python_control_flow_on_tensor_values_is_refused(tmp_path):
    def branchy(x):
        return x * 2 if x.sum() > 0 else x

    model = nn.Sequential(nn.Linear(3, 3), Lambda(branchy))
    with pytest.raises(ExportError, match=r"layer '1' calls bool\(\).*depends on the data"):
        export(model, tg.ones((2, 3)), str(tmp_path / "m.onnx"))
    item = nn.Sequential(Lambda(lambda x: x * x.max().item()))
    with pytest.raises(ExportError, match=r"layer '0' calls item\(\)"):
        export(item, tg.ones((2, 3)), str(tmp_path / "m.onnx"))


def test_an_in_place_write_the_trace_cannot_see_is_refused(tmp_path):
    def shifted(x):
        y = x * 1.0
        y.add_(1.0)
        return y

    for model in (nn.Sequential(Lambda(shifted)), nn.Sequential(Lambda(shifted), nn.ReLU())):
        with pytest.raises(ExportError, match=r"in-place op changed"):
            export(model, tg.ones((2, 3)), str(tmp_path / "m.onnx"))


# every registered model at a small input (channels from its registered size; the side of the
# square input is 32, 64 for the two whose pools need more); resnet20 and mobilenet_v2
# (depthwise convs, ReLU6) run in CI, all the others with -m zoo.
SIDE = {"alexnet": 64, "googlenet": 64, "lenet5": 28, "fashion-cnn": 28,
        "face-detector-cnn": 25, "centernet": 64}
IN_CI = ("resnet20", "mobilenet_v2")


@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name in IN_CI else pytest.mark.zoo)
                                  for name in list_models()
                                  if len(INPUT_SIZES[name]) == 3])  # image models
def test_zoo_model_matches_onnxruntime(name, tmp_path):
    channels, side = INPUT_SIZES[name][0], SIDE.get(name, 32)
    tg.manual_seed(5)
    roundtrip(get_model(name), (channels, side, side), tmp_path, batches=(1, 2))


def test_face_recognition_network_matches_onnxruntime(tmp_path):
    from tinygradcnn.models.faces import FaceCNN

    tg.manual_seed(6)
    roundtrip(FaceCNN(num_classes=40, width=8, input_size=32), (1, 32, 32), tmp_path)


def test_export_leaves_the_model_in_its_mode_and_the_input_alone(tmp_path):
    model = get_model("lenet5", input_size=8)
    model.train()
    model.features.eval()  # a frozen part stays frozen
    x = tg.zeros((1, 1, 8, 8))
    info = export(model, x, str(tmp_path / "m.onnx"))
    assert model.training and not model.features.training and model.classifier.training
    assert not x.requires_grad
    assert info["bytes"] == os.path.getsize(tmp_path / "m.onnx") and info["nodes"] > 0


def test_cli_export_command(tmp_path, capsys):
    from tinygradcnn.__main__ import main

    out = tmp_path / "lenet.onnx"
    assert main(["export", "--model", "lenet5", "--out", str(out), "--opset", "18",
                 "--input-size", "1", "28", "28"]) == 0
    assert "wrote" in capsys.readouterr().out
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    assert onnx.load(str(out)).opset_import[0].version == 18


def _trained_lenet(images: np.ndarray, labels: np.ndarray):
    """LeNet-5 after a few Adam steps: confident enough that its predictions are not ties."""
    tg.manual_seed(0)
    model = get_model("lenet5")
    optimizer = tg.optim.Adam(model.parameters(), lr=2e-3)
    x = tg.tensor(images[:, None].astype(np.float32) / 255)
    y = tg.tensor(labels.astype(np.int64))
    for step in range(30):
        batch = slice(32 * (step % 8), 32 * (step % 8) + 32)
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    return model.eval()


def test_serve_onnx_example_predicts_what_the_engine_predicts(tmp_path):
    from tinygradcnn.data.idx import read_idx

    data = os.environ.get("TINYGRADCNN_DATA", "")
    images_path = os.path.join(data, "mnist", "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(images_path):
        pytest.skip("MNIST is not in $TINYGRADCNN_DATA/mnist")
    images = read_idx(images_path)[:256]
    labels = read_idx(images_path.replace("images-idx3", "labels-idx1"))[:256]
    model = _trained_lenet(images, labels)
    path = str(tmp_path / "lenet5.onnx")
    export(model, tg.zeros((1, 1, 28, 28)), path)
    # the example runs with tinygradcnn unimportable: onnxruntime alone serves the model
    script = ("import runpy, sys; sys.modules['tinygradcnn'] = None; sys.argv = sys.argv[1:];"
              "runpy.run_path(sys.argv[0], run_name='__main__')")
    result = subprocess.run(
        [sys.executable, "-c", script, os.path.join(ROOT, "examples", "serve_onnx.py"), path,
         "--count", "40", "--offset", "200", "--json", "--data-dir", os.path.join(data, "mnist")],
        capture_output=True, text=True, check=True)
    served = json.loads(result.stdout)["predictions"]
    with tg.no_grad():
        ours = model(tg.tensor(images[200:240, None].astype(np.float32) / 255)).argmax(1)
    assert served == ours.tolist()
