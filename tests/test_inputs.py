"""Strict, clear input: every bad value is one line naming the parameter, the value and what is allowed, with
a non-zero exit and before any work; and the Python API leaves the caller's objects as they were."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from octprof import measure
from octprof.analysis import PATH_ROWS, Network
from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.core.inputs import (
    DTYPE_BYTES,
    MAX_VALUES,
    parse_dtype,
    parse_grid,
    parse_input_size,
    parse_ints,
    parse_map_size,
    size_text,
)
from octprof.paper import published_tables, table_name

TINY = "tests.gate_models:tiny"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(r, *needles: str, code: int = 1) -> None:
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output, r.output
    text = r.output.strip().splitlines()[-1]
    for n in needles:
        assert n in text, r.output


# ------------------------------------------------------------------------------------------------- parsers


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4096), st.integers(1, 4096))
def test_sizes_round_trip(h, w):
    size = parse_input_size(f"{h}x{w}", "--input-size")
    assert size == (h if h == w else (h, w))
    assert parse_input_size(size_text(size)) == size
    assert parse_map_size(f"{h}X{w}") == (h, w) and parse_map_size(str(h)) == (h, h)


@pytest.mark.parametrize("bad", ["0", "0x8", "-3", "8x", "x8", "abc", "1.5", True, [0, 3]])
def test_bad_sizes_name_the_parameter(bad):
    with pytest.raises(OctprofError, match=r"^--input-size: got "):
        parse_input_size(bad, "--input-size")


def test_ints_refuse_empty_items_and_values_below_the_minimum():
    assert parse_ints("1,8", "--batch") == [1, 8] and parse_ints(4, "--batch") == [4]
    for bad, says in (
        ("1,,2", "empty item"),
        ("", "empty item"),
        (",", "empty item"),
        ("1,a", "integers"),
        ("0", ">= 1"),
    ):
        with pytest.raises(OctprofError, match=f"^--batch: got .*{says}"):
            parse_ints(bad, "--batch")


def test_dtypes_one_table():
    assert parse_dtype("torch.float16") == "float16" and parse_dtype("half") == "float16"
    assert set(measure.DTYPES) <= set(DTYPE_BYTES)
    with pytest.raises(OctprofError, match="--dtype: got 'int4'; expected one of float32, float16"):
        parse_dtype("int4")
    with pytest.raises(OctprofError, match="--dtype: got 'int8'; expected one of float32, float16, bfloat16, float64"):
        parse_dtype("int8", allowed=tuple(measure.DTYPES))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 1000), st.integers(1, 60))
def test_grid_cap_counts_every_range(steps, repeats):
    """``repeats`` copies of a range of ``steps + 1`` values (0 to steps/1000 by 0.001, exact in decimal):
    accepted exactly when the total is within the cap."""
    text = ",".join([f"0:{steps / 1000}:0.001"] * repeats)
    total = repeats * (steps + 1)
    if total <= MAX_VALUES:
        assert len(parse_grid(text, "--alpha")) == steps + 1
    else:
        with pytest.raises(OctprofError, match="at most 10000 values in all"):
            parse_grid(text, "--alpha")


@pytest.mark.parametrize(
    "grid, says",
    [
        ("0:1e999999:1e-999999", "stop 1E+999999 is outside [0, 1]"),
        ("0:1:1e-999999", "at most 10000 values"),
        ("0.5:0.5:1e-99999999", "too small to advance"),
        ("0:1:2", "step must be positive and at most 1"),
        (",".join(["0:1:0.001"] * 1000), "at most 10000 values in all"),
    ],
)
def test_extreme_grids_are_one_line_errors(grid, says):
    one_line_error(run("table1", "--alpha", grid), "--alpha", says, code=2)


# --------------------------------------------------------------------------------------------------- paper


@pytest.mark.parametrize("text", ["2", "table 2", "Table 2", "TABLE2", " table  2 "])
def test_paper_table_names(text):
    assert table_name(text) == "Table 2"


def test_paper_cli_accepts_every_spelling(monkeypatch):
    from octprof import paper

    asked = []

    def fake_compare(tables, progress=None):
        asked.append(tables)
        return [
            {"table": t, "arch": "x", "metric": "GFLOPs", "published": 1.0, "octprof": 1.0, "status": "ok", "why": ""}
            for t in tables
        ]

    monkeypatch.setattr(paper, "compare", fake_compare)
    r = run("paper", "--table", "2", "--table", "table 2", "--table", "Table 5", "--format", "json")
    assert r.exit_code == 0, r.output
    assert asked == [("Table 2", "Table 5")]


def test_paper_unknown_table_lists_the_allowed_ones():
    r = run("paper", "--table", "3")
    one_line_error(r, "--table: got '3'", "'Table 2'", "'Table 7'", "(or just the number: 2, 5, 6, 7)")
    assert "Table 2" in published_tables()


# --------------------------------------------------------------------------------------------------- bench


@pytest.fixture
def no_timing(monkeypatch):
    """Any attempt to build or time a model fails the test: errors must come first."""

    def forbidden(*a, **k):
        raise AssertionError("timed before validating the input")

    monkeypatch.setattr(measure, "bench", forbidden)
    monkeypatch.setattr(measure, "path_times", forbidden)
    from octprof import latency

    monkeypatch.setattr(latency, "calibrate", forbidden)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--batch", "1,,2"], "--batch: got '1,,2'"),
        (["--batch", "0"], "--batch: got '0'"),
        (["--warmup", "-1"], "--warmup: got -1; expected an integer >= 0"),
        (["--repeats", "0"], "--repeats: got 0; expected an integer >= 1"),
        (["--profile", "p.json"], "--profile: got 'p.json'; only with --predict"),
        (["--report", "paths", "--alpha", "0"], "--alpha: got '0'; --report paths needs an alpha > 0"),
        (["--dtype", "int8"], "--dtype: got 'int8'"),
        (["--input-size", "0x4"], "--input-size: got '0x4'"),
        (["-o", "out.xlsx"], "--output: got 'out.xlsx'; unknown extension"),
        (["--predict", "--report", "memory"], "--predict: got 'memory'; only with --report latency"),
        (["--predict", "--profile", "p.json", "-o", "p.json"], "--output: got 'p.json'; is the same file as --profile"),
    ],
)
def test_bench_bad_input(no_timing, args, says):
    one_line_error(run("bench", *args), says)


def test_corrupt_profile_is_found_before_timing_and_named(no_timing, tmp_path):
    prof = tmp_path / "profile.json"
    for text in ("{not json", json.dumps({"format": "other"}), json.dumps({"format": "octprof-device-profile/1"})):
        prof.write_text(text)
        one_line_error(run("bench", "--predict", "--profile", prof), "--profile: got", "profile")
        one_line_error(run("calibrate", "--quick", "--profile", prof), "--profile: got")
    prof.write_text(json.dumps({"format": "octprof-device-profile/1", "entries": [{"key": {}, "params": {}}]}))
    one_line_error(run("calibrate", "--quick", "--profile", prof), "--profile: got", "corrupt device profile (entry 0")
    one_line_error(run("bench", "--predict", "--profile", tmp_path / "none.json"), "no device profile there")


def test_bench_defaults(monkeypatch):
    """Channels-last on CPU unless --nchw; the busy warning in the output's notes; no rank correlation from
    fewer than five rows."""
    import pandas as pd

    seen = {}

    def fake_bench(archs, alpha, batches, dev, dt, channels_last, *rest, **kw):
        seen["channels_last"] = channels_last
        rows = [{"arch": "a", "alpha": a, "median_ms": 1 + a, "predicted_ms": 2 + a} for a in alpha]
        return pd.DataFrame(rows)

    monkeypatch.setattr(measure, "bench", fake_bench)
    monkeypatch.setattr(measure, "busy_warning", lambda threads: "the machine is busy (test)")
    from octprof import latency

    monkeypatch.setattr(latency, "check_profile", lambda *a, **k: "p.json")
    r = run("bench", "--alpha", "0,0.5", "--predict")
    assert r.exit_code == 0, r.output
    assert seen["channels_last"] is True
    assert "* warning: the machine is busy (test)" in r.output  # a note of the results, not only stderr
    assert "no rank correlation: it needs at least 5 rows (this run has 2" in r.output
    assert "Spearman" not in r.output
    r = run("bench", "--alpha", "0:1:0.25", "--predict", "--nchw")
    assert r.exit_code == 0 and seen["channels_last"] is False
    assert "Spearman rank correlation 1.000" in r.output


def test_busy_warning_for_any_thread_count():
    assert measure.busy_warning(1, load=8.0, cores=2) is not None
    assert "--threads 1" not in measure.busy_warning(1, load=8.0, cores=2)
    assert "OMP_WAIT_POLICY" in measure.busy_warning(2, load=2.0, cores=2)
    assert measure.busy_warning(1, load=0.3, cores=2) is None
    assert measure.default_channels_last("cpu") is True


# ---------------------------------------------------------------------------------------------------- gate


def test_gate_refuses_an_empty_baseline(tmp_path):
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"format": "octprof-gate-baseline", "version": 1, "tolerances": {}, "entries": []}))
    one_line_error(run("gate", "--baseline", b), "entries: got []; expected at least one entry")
    # an update that adds entries may start from it
    r = run("gate", "--baseline", b, "--update", "--arch", TINY, "--alpha", "0", "--input-size", "8")
    assert r.exit_code == 0, r.output
    assert len(json.loads(b.read_text())["entries"]) == 1


def test_a_user_factory_that_raises_is_the_users_error():
    r = run("table", "--model", "tests.gate_models:broken", "--alpha", "0", "--input-size", "8")
    one_line_error(r, "tests.gate_models:broken", "raised RuntimeError: cannot build this model", "in your factory")


# ------------------------------------------------------------------------------------------------ the API


def test_network_leaves_the_callers_module_untouched():
    from tests.gate_models import tiny

    model = tiny().train()
    flags = [m.training for m in model.modules()]
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    a = Network(model, input_size=8).analyze(0.5)
    a.octify()
    assert [m.training for m in model.modules()] == flags
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert a.model is not model


def test_network_model_is_a_real_module():
    net = Network(TINY, input_size=8)
    out = net.model(torch.randn(1, 3, 8, 8))  # built for real, not on the meta device
    assert out.shape == (1, 10) and not out.is_meta
    assert net.analyze(0.5).total()["macs"] > 0


def test_by_layer_and_by_path_rows():
    a = Network(TINY, input_size=16).analyze(0.5)
    layers = a.by_layer()
    convs = layers[layers["op"] == "conv2d"]
    assert not any(math.isnan(v) for v in convs["alpha_in"]) and not any(math.isnan(v) for v in convs["alpha_out"])
    assert convs["alpha_in"].iloc[0] == 0.0 and convs["alpha_out"].iloc[0] == 0.0  # the stem: vanilla both sides
    paths = a.by_path()
    assert "" not in set(paths["path"]) and set(paths["path"]) <= set(PATH_ROWS)
    assert all(paths["what"].str.len() > 0)
    assert list(paths["path"]) == [p for p in PATH_ROWS if p in set(paths["path"])]
    t = a.total(warn=False)
    for col in ("macs", "paper_flops", "fvcore_flops", "params", "act_elems"):
        assert int(paths[col].sum()) == t[col], col


def test_cpu_profiling_prints_no_kineto_noise(tmp_path):
    """The CUDA build of torch prints 'gpuGetDeviceCount failed' and 'USDT' lines when the profiler starts on a
    machine without a GPU; octprof's CPU-only profiling (bench --report paths|memory) silences them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import torch\n"
        "from torch.profiler import profile\n"
        "from octprof.measure import profiler_activities\n"
        "with profile(activities=profiler_activities('cpu'), profile_memory=True):\n"
        "    torch.ones(8) + 1\n"
        "print('profiled')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout == "profiled\n", r.stderr
    assert "USDT" not in r.stderr and "gpuGetDeviceCount" not in r.stderr and "STAGE" not in r.stderr, r.stderr
