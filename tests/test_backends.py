"""Deployment backends of ``bench``: the octave network exported through torch.onnx and timed in ONNX Runtime (and
OpenVINO where it is installed), with the same round-robin protocol; bad combinations are one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from octprof.analysis import Network
from octprof.backends import exported_step
from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.measure import bench, build_model
from tests.nets import CifarResNet


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return CifarResNet(width=8).eval()


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_exported_network_computes_what_the_octave_network_computes(backend):
    pytest.importorskip(backend)
    a = Network(tiny(), input_size=32).analyze(0.5)
    model = build_model(a)
    x = torch.randn(a.captured.input_shape)
    step, precision = exported_step(backend, model, x, threads=1)
    out = step()
    y = out[0] if isinstance(out, list) else next(iter(out.values()))
    with torch.no_grad():
        ref = model(x).numpy()
    assert precision == "float32"
    assert np.allclose(np.asarray(y), ref, atol=1e-4)


def test_bench_onnxruntime_rows():
    pytest.importorskip("onnxruntime")
    df = bench([tiny()], alphas=[0.5], batches=[1], input_size=32, repeats=2, warmup=1, threads=1,
               backend="onnxruntime", progress=False)  # fmt: skip
    assert list(df["alpha"]) == [0.0, 0.5]
    assert set(df["backend"]) == {"onnxruntime"} and set(df["precision"]) == {"float32"}
    assert not df["channels_last"].any() and not df["compiled"].any()
    assert (df["median_ms"] > 0).all()
    assert df.loc[df["alpha"] == 0.0, "speedup"].item() == 1.0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"backend": "tvm"}, "--backend: got 'tvm'; expected one of eager, compile, onnxruntime, openvino"),
        ({"backend": "onnxruntime", "mode": "train"}, "exported backends measure inference only"),
        ({"backend": "onnxruntime", "dtype": "bfloat16"}, "exported backends run in float32"),
        ({"backend": "onnxruntime", "compile": True}, "--compile is the compile backend"),
    ],
)
def test_bad_backend_combinations(kw, message):
    pytest.importorskip("onnxruntime")
    with pytest.raises(OctprofError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bench([tiny()], alphas=[0.5], input_size=32, repeats=1, progress=False, **kw)


def test_cli_backend_onnxruntime():
    pytest.importorskip("onnxruntime")
    r = CliRunner().invoke(
        main,
        ["bench", "--arch", "tests.test_backends:tiny", "--input-size", "32", "--alpha", "0.5", "--threads", "1",
         "--repeats", "2", "--backend", "onnxruntime", "--no-progress", "--format", "csv"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "onnxruntime" in r.output
    r = CliRunner().invoke(main, ["bench", "--arch", "resnet26", "--backend", "onnxruntime", "--mode", "train"])
    assert r.exit_code == 1 and "inference only" in r.output and "Traceback" not in r.output


def test_calibrate_per_backend_and_predict(tmp_path):
    pytest.importorskip("onnxruntime")
    from octprof.latency import calibrate, load_profile, save_profile

    path = str(tmp_path / "profile.json")
    save_profile(calibrate("cpu", "float32", 1, quick=True, repeats=1), path)
    save_profile(calibrate("cpu", "float32", 1, quick=True, repeats=1, backend="onnxruntime"), path)
    eager = load_profile(path, "cpu", "float32", 1)
    ort = load_profile(path, "cpu", "float32", 1, backend="onnxruntime")
    assert eager.key["backend"] == "eager" and ort.key["backend"] == "onnxruntime"
    assert load_profile(path, "cpu", "float32", 1, backend="compile").key["backend"] == "eager"
    df = bench([tiny()], alphas=[0.5], input_size=32, repeats=1, warmup=1, threads=1, backend="onnxruntime",
               predict=True, profile=path, progress=False)  # fmt: skip
    assert (df["predicted_ms"] > 0).all()
    with pytest.raises(OctprofError, match=r"has no calibration.*backend.: .openvino.*--backend openvino"):
        load_profile(path, "cpu", "float32", 1, backend="openvino")
