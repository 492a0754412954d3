"""The latency model: roofline arithmetic, kernels of a network, fitting, rank statistics, device profiles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from octprof.analysis import Network
from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.latency import (
    DeviceParams,
    Kernel,
    LatencyModel,
    fit,
    kernels,
    load_profile,
    median_abs_rel_error,
    save_profile,
    spearman,
)
from tests.nets import CifarResNet

PARAMS = DeviceParams(
    peak_macs={"conv": 1e10, "gconv": 5e9, "dwconv": 1e9},
    eff={"conv": (0.0, 0.0, 0.0), "gconv": (0.0, 0.0, 0.0), "dwconv": (0.0, 0.0, 0.0)},
    bandwidth=1e9,
    overhead=1e-5,
)


def test_roofline_arithmetic():
    # compute-bound: 1e8 macs at 1e10/s = 10 ms; 1e6 bytes at 1e9 B/s = 1 ms; + 10 µs
    k = Kernel("n", "l", "h2h", "conv", macs=10**8, bytes=10**6, m=64, k=64, n=64)
    assert PARAMS.kernel_time(k) == pytest.approx(0.01 + 1e-5)
    # memory-bound convolution: 1e5 macs = 10 µs, 1e6 bytes = 1 ms
    k = Kernel("n", "l", "h2h", "conv", macs=10**5, bytes=10**6, m=64, k=64, n=64)
    assert PARAMS.kernel_time(k) == pytest.approx(0.001 + 1e-5)
    # a memory kernel: 4e6 bytes = 4 ms
    assert PARAMS.kernel_time(Kernel("n", "l", "pool", "memory", bytes=4 * 10**6)) == pytest.approx(0.004 + 1e-5)
    # small-size efficiency: m0 = 64 halves the rate of a kernel with 64 output channels
    p = DeviceParams({"conv": 1e10}, {"conv": (64.0, 0.0, 0.0)}, 1e9, 0.0)
    k = Kernel("n", "l", "h2h", "conv", macs=10**8, bytes=0, m=64, k=8, n=8)
    assert p.kernel_time(k) == pytest.approx(0.02)


def test_kernels_carry_every_multiply_accumulate():
    net = Network(CifarResNet(width=8), input_size=16, batch=2)
    for alpha in (0.0, 0.5):
        a = net.analyze(alpha)
        for impl in ("fast", "reference"):
            ks = kernels(a, impl)
            assert sum(k.macs for k in ks) == a.total()["macs"], (alpha, impl)
    a = net.analyze(0.5)
    assert len(kernels(a, "fast")) < len(kernels(a, "reference"))
    assert all(k.kind in ("conv", "gconv", "dwconv", "memory") for k in kernels(a))


def _synthetic(params: DeviceParams) -> list[tuple[Kernel, float]]:
    samples = []
    for i, (m, kk, n) in enumerate(
        [
            (8, 8, 64),
            (32, 72, 256),
            (64, 576, 3136),
            (256, 256, 49),
            (16, 144, 784),
            (128, 1152, 196),
            (512, 128, 49),
            (4, 36, 16),
        ]
    ):
        k = Kernel(f"c{i}", "l", "conv", "conv", macs=m * kk * n, bytes=1, m=m, k=kk, n=n)
        samples.append((k, params.kernel_time(k)))
    for i, b in enumerate((10**5, 10**6, 10**7)):
        k = Kernel(f"m{i}", "l", "add", "memory", bytes=b)
        samples.append((k, params.kernel_time(k)))
    samples.append(
        (Kernel("t", "l", "relu", "memory", bytes=8), params.kernel_time(Kernel("t", "l", "", "memory", bytes=8)))
    )
    return samples


def test_fit_recovers_synthetic_parameters():
    truth = DeviceParams({"conv": 4e10}, {"conv": (16.0, 64.0, 256.0)}, 2e10, 5e-6)
    samples = _synthetic(truth)
    got = fit(samples)
    assert got.eff["conv"] == (16.0, 64.0, 256.0)
    assert got.peak_macs["conv"] == pytest.approx(4e10, rel=1e-4)
    assert got.bandwidth == pytest.approx(2e10, rel=1e-3) and got.overhead == pytest.approx(5e-6, rel=1e-2)
    for k, t in samples:
        assert got.kernel_time(k) == pytest.approx(t, rel=1e-3)


def test_rank_and_error_statistics():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take their average rank: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5.0))
    assert median_abs_rel_error([110, 90, 100], [100, 100, 100]) == pytest.approx(0.1)
    with pytest.raises(OctprofError):
        spearman([1], [1])


def _entry(threads: int, bandwidth: float) -> dict:
    p = DeviceParams(
        {"conv": 1e10, "gconv": 1e10, "dwconv": 1e10},
        dict.fromkeys(("conv", "gconv", "dwconv"), (0.0, 0.0, 0.0)),
        bandwidth,
        1e-6,
    )
    return {
        "key": {"device": "cpu", "device_name": "x", "dtype": "float32", "threads": threads, "channels_last": False},
        "params": p.to_dict(),
        "fit": {},
    }


def test_profile_round_trip_merge_and_mismatch(tmp_path):
    path = str(tmp_path / "profile.json")
    save_profile([_entry(1, 1e9), _entry(2, 2e9)], path)
    save_profile([_entry(2, 3e9)], path)  # replaces the threads=2 entry
    data = json.loads(Path(path).read_text())
    assert len(data["entries"]) == 2
    model = load_profile(path, "cpu", "float32", threads=2, channels_last=False)
    assert isinstance(model, LatencyModel) and model.params.bandwidth == 3e9
    with pytest.raises(OctprofError, match=r"no calibration for .*Hint: run 'octprof calibrate .*--threads 4"):
        load_profile(path, "cpu", "float32", threads=4, channels_last=False)
    with pytest.raises(OctprofError, match="no device profile there"):
        load_profile(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(OctprofError, match="cannot read a device profile"):
        load_profile(str(tmp_path / "bad.json"))


def test_predict_sums_the_kernels_and_train_is_three_forwards():
    a = Network(CifarResNet(width=8), input_size=16).analyze(0.5)
    model = LatencyModel(PARAMS)
    forward = model.predict(a)
    assert forward == pytest.approx(sum(model.kernel_ms(kernels(a))))
    assert model.predict(a, mode="train") == pytest.approx(3 * forward)
    df = model.breakdown(a)
    assert df["predicted_ms"].sum() == pytest.approx(forward)


def test_calibrate_cli_then_bench_predict(tmp_path):
    profile = str(tmp_path / "device.json")
    r = CliRunner().invoke(main, ["calibrate", "--quick", "--threads", "1", "--repeats", "1", "--profile", profile])
    assert r.exit_code == 0, r.output
    data = json.loads(Path(profile).read_text())
    entry = data["entries"][0]
    assert entry["key"]["threads"] == 1 and entry["params"]["overhead"] >= 0 and entry["machine"]["torch"]
    r = CliRunner().invoke(
        main,
        [
            "bench",
            "--arch",
            "resnet26",
            "--input-size",
            "64",
            "--alpha",
            "0.5",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--no-progress",
            "--predict",
            "--profile",
            profile,
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[r.output.index("[") :])
    assert all(row["predicted_ms"] > 0 for row in rows)


def test_bench_predict_without_a_profile_is_one_line(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--predict", "--profile", str(tmp_path / "none.json")])
    assert r.exit_code != 0 and "run 'octprof calibrate' first" in r.output
