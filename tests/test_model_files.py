"""Whole-model files (tg.save_model / tg.load_model), `weights=` from .safetensors, .npz and
.pth files, the registry's records, and the CLI's convert, summary and train model file."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import models, nn
from tinygradcnn.__main__ import main
from tinygradcnn.models.files import FORMAT_VERSION


def _same_outputs(a: nn.Module, b: nn.Module, shape) -> None:
    x = tg.randn(*shape)
    np.testing.assert_array_equal(a.eval()(x).numpy(), b.eval()(x).numpy())


@pytest.mark.parametrize("extension", [".npz", ".safetensors"])
def test_save_model_and_load_model_round_trip(tmp_path, extension):
    tg.manual_seed(0)
    model = models.get_model("resnet20", in_channels=1, num_classes=5)
    model.train()
    model(tg.randn(4, 1, 8, 8))  # move the BN statistics away from their start
    path = tmp_path / f"model{extension}"
    tg.save_model(model, path, input_size=(1, 8, 8))
    loaded = tg.load_model(path)
    assert isinstance(loaded, models.CifarResNet) and loaded.training
    assert loaded._model_name == "resnet20" and loaded._input_size == (1, 8, 8)
    assert loaded._build_args == {"in_channels": 1, "num_classes": 5}
    before, after = model.state_dict(), loaded.state_dict()
    assert list(before) == list(after)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    _same_outputs(model, loaded, (2, 1, 8, 8))


def test_builders_record_their_arguments_whichever_way_they_are_called(tmp_path):
    direct = models.resnet18(num_classes=3)
    assert direct._model_name == "resnet18" and direct._build_args == {"num_classes": 3}
    lenet = models.get_model("lenet5", num_classes=4, input_size=8)
    assert lenet._build_args == {"num_classes": 4, "input_size": 8}
    tg.save_model(lenet, tmp_path / "lenet.npz")
    assert tg.load_model(tmp_path / "lenet.npz").classifier[-1].out_features == 4


def test_googlenet_with_weights_records_the_arguments_the_file_implies(tmp_path):
    source = models.googlenet()  # with aux heads, as torchvision's file
    tg.save(source.state_dict(), tmp_path / "googlenet.npz")
    model = models.googlenet(weights=tmp_path / "googlenet.npz")
    assert model.aux1 is None and model.transform_input
    assert model._build_args == {"transform_input": True, "aux_logits": False}
    tg.save_model(model.eval(), tmp_path / "model.npz")
    _same_outputs(model, tg.load_model(tmp_path / "model.npz"), (1, 3, 15, 15))


def test_save_model_refuses_a_model_no_file_can_rebuild(tmp_path):
    with pytest.raises(ValueError, match="not built by a registered builder.*register_model"):
        tg.save_model(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m.npz")
    model = models.resnet20()
    object.__setattr__(model, "_build_args", {"zero_init_residual": object()})
    with pytest.raises(ValueError, match="argument zero_init_residual=.* cannot be stored"):
        tg.save_model(model, tmp_path / "m.npz")


def _rewrite(path, **changes):
    content = tg.load(path)
    content.update(changes)
    tg.save(content, path)


def test_load_model_refuses_unknown_models_newer_formats_and_other_files(tmp_path):
    path = tmp_path / "model.npz"
    tg.save_model(models.resnet20(), path)
    _rewrite(path, model="resnet9000")
    with pytest.raises(ValueError, match="'resnet9000' model, which is not registered.*"
                                         "available: .*resnet20"):
        tg.load_model(path)
    tg.save_model(models.resnet20(), path)
    _rewrite(path, version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}, newer"):
        tg.load_model(path)
    tg.save(models.resnet20().state_dict(), tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="not a tinygradcnn model file"):
        tg.load_model(tmp_path / "weights.npz")


def test_load_model_explains_weights_changed_after_the_build(tmp_path):
    model = models.resnet20()
    model.fc = nn.Linear(64, 3)  # a new head: the arguments no longer describe the model
    tg.save_model(model, tmp_path / "model.npz")
    with pytest.raises(ValueError, match="(?s)do not fit resnet20.*a new head.*fc.weight"):
        tg.load_model(tmp_path / "model.npz")


@pytest.mark.parametrize("extension", [".npz", ".safetensors"])
def test_weights_argument_reads_npz_and_safetensors(tmp_path, extension):
    source = models.resnet20(num_classes=4)
    tg.save(source.state_dict(), tmp_path / f"w{extension}")
    loaded = models.resnet20(num_classes=4, weights=str(tmp_path / f"w{extension}"))
    _same_outputs(source, loaded, (1, 3, 8, 8))
    assert "weights" not in loaded._build_args


def test_weights_argument_reads_torchvisions_pth_files(tmp_path):
    torch = pytest.importorskip("torch")
    source = models.resnet18(num_classes=6)
    state = {k: torch.from_numpy(v) for k, v in source.state_dict().items()}
    torch.save(state, tmp_path / "resnet18.pth")
    _same_outputs(source, models.get_model("resnet18", num_classes=6,
                                           weights=tmp_path / "resnet18.pth"), (1, 3, 16, 16))


def test_pth_without_pytorch_says_so(tmp_path, monkeypatch):
    (tmp_path / "w.pth").write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ImportError, match="read with PyTorch, which is not installed.*convert"):
        models.resnet18(weights=tmp_path / "w.pth")


def test_a_missing_weight_file_says_where_torchvisions_weights_are(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"download\.pytorch\.org/models/resnet18-f37072fd"
                                                r"\.pth.*python -m tinygradcnn convert "
                                                r"resnet18-f37072fd\.pth resnet18\.safetensors"):
        models.resnet18(weights=tmp_path / "resnet18.safetensors")
    with pytest.raises(ValueError, match="weights='DEFAULT' is not a file path.*downloads "
                                         "nothing"):
        models.vgg11(weights="DEFAULT")


def test_load_state_dict_takes_tensors_and_arrays_with_num_batches_tracked():
    source = models.resnet20()
    state = source.state_dict()
    assert state["bn1.num_batches_tracked"].shape == () and \
        state["bn1.num_batches_tracked"].dtype == np.int64
    mixed = {k: (tg.tensor(v) if i % 2 else v) for i, (k, v) in enumerate(state.items())}
    target = models.resnet20()
    target.load_state_dict(mixed)
    _same_outputs(source, target, (1, 3, 8, 8))


def test_convert_turns_a_pth_file_into_safetensors(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    source = models.resnet20()
    torch.save({k: torch.from_numpy(v) for k, v in source.state_dict().items()},
               tmp_path / "r20.pth")
    target = tmp_path / "r20.safetensors"
    assert main(["convert", str(tmp_path / "r20.pth"), str(target), "--model", "resnet20"]) == 0
    assert "checked against resnet20" in capsys.readouterr().out
    _same_outputs(source, models.resnet20(weights=target), (1, 3, 8, 8))


def test_convert_refuses_weights_that_do_not_fit_the_model(tmp_path):
    tg.save(models.resnet20(num_classes=3).state_dict(), tmp_path / "w.npz")
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        main(["convert", str(tmp_path / "w.npz"), str(tmp_path / "w.safetensors"),
              "--model", "resnet20"])


def test_cli_summary_counts_resnet50s_multiply_adds(capsys):
    assert main(["summary", "--model", "resnet50", "--input-size", "3", "224", "224",
                 "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 25,557,032" in out and "Multiply-adds: 4.09 G per image" in out
    assert "layer3 (Sequential)" in out and "layer3.0" not in out


def test_cli_summary_reads_a_model_file_at_its_input_size(tmp_path, capsys):
    tg.save_model(models.resnet20(in_channels=1), tmp_path / "m.npz", input_size=(1, 28, 28))
    assert main(["summary", "--model-file", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    assert "input (1, 28, 28)" in out and "[-1, 64, 7, 7]" in out


def test_cli_summary_of_a_sequence_model_takes_channels_and_length(capsys):
    assert main(["summary", "--model", "fcn1d", "--input-size", "12", "29"]) == 0
    out = capsys.readouterr().out
    assert "input (12, 29)" in out and "[-1, 128, 29]" in out
    assert main(["summary", "--model", "fcn1d", "--input-size", "3", "4", "5"]) == 2
    assert "--input-size of fcn1d takes C L or one side" in capsys.readouterr().err


def test_cli_unknown_model_is_one_line_listing_the_names(capsys):
    assert main(["summary", "--model", "resnet9000"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown model 'resnet9000'" in err and "resnet20" in err


def test_cli_train_writes_a_model_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "lenet5", "--image-size", "8", "--epochs", "1", "--limit",
                 "64", "--quiet", "--out", str(out)]) == 0
    assert f"model file: {out / 'model.npz'}" in capsys.readouterr().out
    model = tg.load_model(out / "model.npz")
    assert model._input_size == (1, 8, 8)
    with open(out / "results.json") as f:
        assert json.load(f)["args"]["optimizer"] == "adam"


def test_cli_train_uses_the_resnet20_preset_under_what_the_command_line_gives():
    from tinygradcnn.__main__ import _parser, apply_presets

    args = _parser().parse_args(["train", "--model", "resnet20", "--data", "fashion-mnist",
                                 "--lr", "0.05"])
    apply_presets(args)
    assert args.optimizer == "sgd" and args.nesterov and args.weight_decay == 5e-4
    assert args.scheduler == "cosine" and args.batch_size == 128
    assert args.epochs == 25 and args.augment and args.lr == 0.05
    assert args.random_erasing == 0.5
    args = _parser().parse_args(["train", "--model", "resnet20", "--data", "mnist"])
    apply_presets(args)
    assert args.epochs == 10 and args.random_erasing == 0.0
    args = _parser().parse_args(["train", "--model", "lenet5", "--data", "mnist"])
    apply_presets(args)
    assert args.optimizer == "adam" and args.weight_decay == 0.0 and not args.augment


def test_cli_train_refuses_a_3_channel_model_for_grayscale_data_in_one_line(capsys):
    assert main(["train", "--model", "resnet18", "--limit", "32", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "resnet18 takes 3-channel images and these have 1" in err
