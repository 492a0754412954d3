"""CLI: ``octprof layer`` in 1-D and 3-D, with path ablations and odd sizes, cross-checked; bad input in one line."""

import json

import pytest
from click.testing import CliRunner

from octprof.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def rows_of(r):
    assert r.exit_code == 0, r.output
    return {row["path"]: row for row in json.loads(r.output) if row["path"] != "add"}


BASE = ["layer", "--in-channels", "16", "--out-channels", "16", "--alpha-in", "0.5", "--alpha-out", "0.5"]


def test_layer_3d_check_agrees():
    r = run(*BASE, "--dims", "3", "--size", "4x8x8", "--check", "--format", "json")
    rows = rows_of(r)
    assert all(rows[p]["agree"] for p in ("h2h", "h2l", "l2h", "l2l", "total"))
    # h2h: 8 * 8 * 27 * 4*8*8 = 442,368; time kept: l2l 8 * 8 * 27 * 4*4*4 = 110,592
    assert rows["h2h"]["macs"] == 442_368 and rows["l2l"]["macs"] == 110_592
    assert rows["l2l"]["in_shape"] == "1×8×4×4×4"


def test_layer_3d_temporal_octave_and_stride_per_axis():
    r = run(
        *BASE, "--dims", "3", "--size", "4x8x8", "--temporal-octave", "--stride", "1x2x2", "--check", "--format", "json"
    )
    rows = rows_of(r)
    # low map 2x4x4 (time halved too), pooled 1x2x2 by the stride before L->L
    assert rows["l2l"]["in_shape"] == "1×8×2×2×2" and rows["total"]["agree"]
    assert rows["upsample"]["note"] == "l2h output, nearest 2x1x1"


def test_layer_1d_default_size_and_table_notes():
    r = run(*BASE, "--dims", "1", "--check", "--columns", "all")
    assert r.exit_code == 0, r.output
    assert "1×8×1024" in r.output and "1×8×512" in r.output
    assert "fvcore_flops = macs (fvcore has no handle for upsample_nearest1d: the upsampling counts 0)" in r.output
    assert "pooling outputs x 2" in r.output


def test_layer_paths_ablation():
    rows = rows_of(run(*BASE, "--size", "8x8", "--paths", "h2h,l2l", "--check", "--format", "json"))
    assert set(rows) == {"h2h", "l2l", "total"} and rows["total"]["agree"]
    # 8 * 8 * 9 * 64 + 8 * 8 * 9 * 16 = 46,080
    assert rows["total"]["macs"] == 46_080 and rows["total"]["params"] == 2 * 8 * 8 * 9


def test_layer_odd_size_ceil():
    rows = rows_of(run(*BASE, "--size", "55", "--odd-size", "ceil", "--check", "--format", "json"))
    assert rows["l2l"]["in_shape"] == "1×8×28×28" and rows["upsample"]["out_shape"] == "1×8×55×55"
    assert rows["total"]["agree"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dims", "3", "--size", "8x8"], "--size: got '8x8'; expected TxHxW (e.g. 8x56x56) for --dims 3"),
        (["--dims", "1", "--size", "8x8"], "--size: got '8x8'; expected L (e.g. 1024) for --dims 1"),
        (["--temporal-octave"], "--temporal-octave: got True; only --dims 3 has a time axis"),
        (["--paths", "h2h,h2l"], "paths: got 'h2h,h2l'; the low input"),
        (["--paths", "h2h,foo"], "paths: got 'h2h,foo'; expected a non-empty subset"),
        (["--size", "7x7"], "Hint: odd_size='ceil' (--odd-size ceil)"),
        (["--dims", "3", "--size", "4x8x8", "--stride", "1x2"], "--stride: got '1x2'; expected one number or 3"),
        (["--dims", "3", "--size", "4x8x8", "--stride", "1x3x2"], "stride: got (1, 3, 2); expected 1 or 2"),
        (["--kernel-size", "3x3x3"], "--kernel-size: got '3x3x3'; expected one number or 2"),
    ],
)
def test_layer_nd_bad_input_one_line(args, message):
    r = run(*BASE, *args)
    assert r.exit_code == 1, r.output
    assert message in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
