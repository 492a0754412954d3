"""Measured latency: the bench sweep, its CLI and its errors, and per-path time attribution."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import octprof.bench as bench_module
import octprof.machine as machine
from octprof.analysis import Network
from octprof.cli import main
from octprof.measure import Timing, bench, machine_info, path_times, time_round_robin
from tests.nets import CifarResNet

FAST = dict(batches=[1], input_size=16, repeats=2, warmup=1, threads=1, progress=False)


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return CifarResNet(width=8).eval()


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_bench_columns_baseline_and_theory():
    df = bench([tiny()], alphas=[0.5], **FAST)
    assert list(df["alpha"]) == [0.0, 0.5]  # alpha 0 is always measured
    for col in (
        "arch",
        "batch",
        "device",
        "dtype",
        "threads",
        "mode",
        "median_ms",
        "iqr_ms",
        "throughput",
        "speedup",
        "theory_speedup",
        "efficiency",
    ):
        assert col in df.columns
    base = df.iloc[0]
    assert base["speedup"] == 1.0 and base["theory_speedup"] == 1.0
    net = Network(tiny(), input_size=16)
    theory = net.analyze(0.0).total()["macs"] / net.analyze(0.5).total()["macs"]
    row = df.iloc[1]
    assert row["theory_speedup"] == pytest.approx(theory, rel=1e-4)
    assert row["efficiency"] == pytest.approx(row["speedup"] / row["theory_speedup"], rel=1e-3)
    assert row["throughput"] == pytest.approx(1000 / row["median_ms"], rel=1e-3)
    assert df.attrs["machine"]["torch"] == torch.__version__ and not df.attrs["interrupted"]


@pytest.mark.parametrize("mode, channels_last, impl", [("train", False, "fast"), ("infer", True, "reference")])
def test_bench_train_channels_last_reference(mode, channels_last, impl):
    df = bench([tiny()], alphas=[0.25], mode=mode, channels_last=channels_last, impl=impl, **FAST)
    assert len(df) == 2 and (df["median_ms"] > 0).all()
    assert set(df["mode"]) == {mode} and set(df["impl"]) == {impl}


def test_ctrl_c_keeps_finished_groups(monkeypatch):
    real = bench_module._bench_group
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bench_module, "_bench_group", flaky)
    df = bench([tiny(), tiny()], alphas=[0.5], **FAST)
    assert df.attrs["interrupted"] and len(df) == 2  # the first group's two rows


def test_cli_prints_finished_rows_on_ctrl_c(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_module, "_bench_group", interrupted)
    r = run("bench", "--arch", "resnet26", "--input-size", "64", "--threads", "1", "--no-progress")
    assert r.exit_code == 130 and "interrupted: kept the 0 finished rows" in r.output


def test_round_robin_timing_and_timing_stats():
    calls = {"a": 0, "b": 0}

    def f(k):
        calls[k] += 1

    t = time_round_robin({"a": lambda: f("a"), "b": lambda: f("b")}, threads=1, repeats=3, warmup=2)
    assert calls == {"a": 5, "b": 5} and len(t["a"].times_ms) == 3
    s = Timing((1.0, 2.0, 3.0, 4.0, 100.0))
    assert s.median == 3.0 and s.iqr == 2.0
    assert Timing((5.0,)).iqr == 0.0


def test_machine_info_describes_the_machine():
    info = machine_info("cpu", 1)
    for key in ("cpu", "cpu_count", "torch", "threads", "device", "device_name", "platform"):
        assert key in info
    assert info["threads"] == 1


def test_path_times_sum_to_layer_totals_next_to_the_cost_model():
    per_layer, per_path = path_times(tiny(), 0.5, batch=1, input_size=16, threads=1, repeats=2)
    for layer, rows in per_layer.groupby("layer"):
        total = rows.loc[rows["path"] == "total", "time_ms"].item()
        parts = rows.loc[rows["path"] != "total", "time_ms"].sum()
        assert parts == pytest.approx(total, rel=1e-9, abs=1e-12), layer
    net = Network(tiny(), input_size=16)
    a = net.analyze(0.5)
    expected = {(r["layer"], r["path"]) for r in a.rows if r["op"] == "conv2d"}
    measured = {(r.layer, r.path) for r in per_layer.itertuples() if r.path not in ("total", "overhead")}
    assert measured == expected
    body = per_path[per_path["path"] != "network"]
    assert body["time_share"].sum() == pytest.approx(1.0, rel=1e-6)
    assert body["macs"].sum() == a.total()["macs"]
    assert body["macs_share"].sum() == pytest.approx(1.0)


def test_cli_bench_writes_csv_and_json_with_the_machine(tmp_path):
    csv_path, json_path = tmp_path / "b.csv", tmp_path / "b.json"
    args = ["bench", "--arch", "tests.nets:CifarResNet", "--input-size", "16", "--alpha", "0.5", "--threads", "1"]
    r = run(*args, "--repeats", "1", "--warmup", "0", "--no-progress", "--output", str(csv_path))
    assert r.exit_code == 0, r.output
    text = csv_path.read_text()
    assert text.startswith("# cpu:") and "arch,alpha,batch" in text and "tests.nets:CifarResNet,0.5,1" in text
    r = run(*args, "--report", "memory", "--output", str(json_path))
    assert r.exit_code == 0, r.output
    data = json.loads(json_path.read_text())
    assert data["machine"]["torch"] == torch.__version__
    rows = data["rows"]
    assert [row["alpha"] for row in rows] == [0.0, 0.5]
    assert rows[1]["closed_activations"] == rows[1]["fvcore_activations"]
    assert rows[1]["saved_bytes"] == rows[1]["observed_saved_bytes"]
    r = run(*args, "--report", "paths", "--repeats", "1", "--format", "csv")
    assert r.exit_code == 0, r.output
    assert "path,time_ms,time_share" in r.output and "\nnetwork," in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "cuda"], "--device: got 'cuda'"),
        (["--device", "tpu"], "--device: got 'tpu'"),
        (["--batch", "0"], "--batch: got '0'; 0 is below 1; expected integers >= 1"),
        (["--batch", "one"], "--batch: got 'one'"),
        (["--dtype", "int8"], "--dtype: got 'int8'"),
        (["--threads", "0"], "--threads: got 0"),
        (["--output", "/no/such/folder/out.csv"], "--output: got '/no/such/folder/out.csv'"),
    ],
)
def test_cli_bad_input_is_one_line(args, message):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run("bench", "--arch", "resnet26", *args)
    assert r.exit_code != 0
    assert message in r.output and "Traceback" not in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1


def test_cli_output_is_a_folder(tmp_path):
    r = run("bench", "--output", str(tmp_path))
    assert r.exit_code != 0 and "--output" in r.output and "is a directory" in r.output


def test_unsupported_dtype_on_the_device_is_one_line(monkeypatch):
    def fails(dtype, device):
        raise RuntimeError("\"slow_conv2d_cpu\" not implemented for 'Half'")

    monkeypatch.setattr(machine, "_probe", fails)
    r = run("bench", "--dtype", "float16")
    assert r.exit_code != 0
    assert "--dtype: got 'float16'; not supported for convolutions on cpu" in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.cuda
def test_bench_on_cuda():
    df = bench([tiny()], alphas=[0.5], device="cuda", batches=[2], input_size=32, repeats=2, warmup=1, progress=False)
    assert len(df) == 2 and (df["median_ms"] > 0).all() and df.attrs["machine"]["device_name"]
    per_layer, _ = path_times(tiny(), 0.5, batch=2, input_size=32, device="cuda", repeats=2)
    for _, rows in per_layer.groupby("layer"):
        total = rows.loc[rows["path"] == "total", "time_ms"].item()
        assert rows.loc[rows["path"] != "total", "time_ms"].sum() == pytest.approx(total)
