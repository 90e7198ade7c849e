"""`python -m tinygradcnn explain`: every view runs on the quick model, the errors are one
line with the valid choices, and report.html needs nothing outside itself."""

import contextlib
import importlib.util
import io
import re

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn.__main__ import main
from tinygradcnn.viz.explain import VIEWS

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

MINE = ["shapes", "conv", "pool", "filters", "layers", "softmax"]
FILES = {"shapes": ["shapes.png"], "conv": ["conv_learned.png", "conv_learned.gif",
                                            "conv_sobel.png", "conv_sobel.gif"],
         "pool": ["pool.png"], "filters": ["filters.png"], "layers": ["layers.png"],
         "softmax": ["softmax.png"]}


def _installed(view):
    return importlib.util.find_spec(f"tinygradcnn.viz.{VIEWS[view][0]}") is not None


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """`explain all --quick --html` once (the model is trained once, into out/model)."""
    out = tmp_path_factory.mktemp("explain")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["explain", "all", "--quick", "--html", "--out", str(out), "--image", "3"])
    return out, code, printed.getvalue()


def run(capsys, *argv):
    code = main(["explain", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_all_runs_every_installed_view_and_reports_the_missing_ones(explained):
    out, code, _ = explained
    missing = [view for view in VIEWS if not _installed(view)]
    assert code == (1 if missing else 0)
    for view in MINE:
        for name in FILES[view]:
            assert (out / name).stat().st_size > 1000, name
    assert (out / "model" / "weights.npz").exists()


def test_report_is_self_contained(explained):
    out, _, _ = explained
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    outside = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"(https?:)?//[a-z0-9]", outside)
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(src.startswith(("data:image/png;base64,", "data:image/gif;base64,"))
                           for src in sources)
    assert len(sources) >= sum(len(FILES[v]) for v in MINE) + sum(
        1 for v in VIEWS if v not in MINE and _installed(v))  # vizattr's, at least one each
    for view in MINE:
        assert f'<section id="{view}">' in page
    for view in VIEWS:
        if not _installed(view):
            assert f'<section class="failed" id="{view}">' in page


def test_conv_view_steps_equal_the_layers_own_output(explained):
    _, _, printed = explained
    difference = float(re.search(r"largest difference ([0-9.e+-]+)", printed).group(1))
    assert difference < 1e-5
    assert "== Convolution, one step at a time ==" in printed


def test_layer_option_picks_the_layer(explained, capsys):
    out, _, _ = explained
    code, text, _ = run(capsys, "layers", "--quick", "--out", str(out), "--layer",
                        "features.3")
    assert code == 0
    assert "features.3 Conv2d" in text and "features.4 ReLU" in text
    assert "features.0" not in text


@pytest.mark.parametrize("argv, message", [
    (["nosuchview"], r"unknown view 'nosuchview'; choose one of: shapes, conv, pool, .*all"),
    (["conv", "--image", "100000"], r"--image 100000 is out of range: .* \(0\.\.\d+\)"),
    (["layers", "--layer", "nope"], r"no layer named 'nope'; the layers are: features, "
                                    r"features\.0, "),
    (["conv", "--layer", "features.1"], r"layer 'features.1' is a ReLU, not a Conv2d; choose "
                                        r"one of: features\.0, features\.3"),
    (["pool", "--model-file", "/no/such/file.tgm"], r"--model-file: no file"),
])
def test_bad_input_is_one_line_listing_the_choices(explained, capsys, argv, message):
    out, _, _ = explained
    code, _, err = run(capsys, *argv, "--quick", "--out", str(out))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygradcnn explain: error: ")
    assert re.search(message, lines[0]), lines[0]


def test_model_file_is_explained(capsys, tmp_path):
    """Needs tg.save_model / tg.load_model (the zoo's whole-model files, merged separately):
    the model comes back with the image size saved beside it."""
    from tinygradcnn.models import get_model

    tg.manual_seed(0)
    model = get_model("lenet5", num_classes=10, in_channels=1, input_size=12)
    tg.save_model(model, tmp_path / "tiny.tgm", input_size=(1, 12, 12))
    code, text, _ = run(capsys, "softmax", "--model-file", str(tmp_path / "tiny.tgm"),
                        "--out", str(tmp_path))
    assert code == 0 and "<- predicted" in text
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\s+-?\d", line)]
    assert len(rows) == 10
    assert np.isclose(sum(float(row.split()[4]) for row in rows), 1.0, atol=1e-5)
    code, text, _ = run(capsys, "shapes", "--model-file", str(tmp_path / "tiny.tgm"),
                        "--out", str(tmp_path))
    assert code == 0 and "input [1, 12, 12]" in text


def test_my_views_run_on_any_small_cnn(tmp_path):
    """Not only LeNet-5: a Sequential of another shape, colour input, a deep stack of maps."""
    from tinygradcnn import nn
    from tinygradcnn.viz.explain import run_view
    from tinygradcnn.viz.explain_types import ExplainContext

    tg.manual_seed(0)
    deep = [layer for _ in range(6) for layer in (nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())]
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, stride=1), nn.ReLU(), *deep,
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).eval()
    images = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
    ctx = ExplainContext(model, images, np.array([0, 2]), 1, ["a", "b", "c"], tmp_path,
                         quick=True)
    for view in MINE:
        result = run_view(view, ctx)
        if view == "conv":  # a 3-channel kernel: the sum runs over the channels too
            assert "kernel 0, (3, 3, 3)" in result.text
            difference = re.search(r"largest difference ([0-9.e+-]+)", result.text).group(1)
            assert float(difference) < 1e-5
        assert result.files and all(path.stat().st_size > 1000 for path in result.files)
        assert result.about and result.text
    assert "12 of the 15 layers" in run_view("layers", ctx).text
