"""CLI: table1 and layer, formats, files, errors (CliRunner), and table1 without torch."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from octprof.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_table1_default_grid_table():
    r = run("table1")
    assert r.exit_code == 0, r.output
    assert "34.4" in r.output and "43.8" in r.output and "Table 1" in r.output


def test_table1_range_grid_json_numbers_are_numbers():
    r = run("table1", "--alpha", "0:1:0.25", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["alpha"] for row in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert rows[2]["flops_ratio_pct"] == 43.8 and rows[2]["paper_flops_pct"] == 44


@pytest.mark.parametrize(
    "fmt, marker", [("markdown", "| alpha"), ("csv", "alpha,flops_ratio_pct"), ("latex", r"\begin{tabular}")]
)
def test_table1_formats(fmt, marker):
    r = run("table1", "--alpha", "0,0.5", "--format", fmt)
    assert r.exit_code == 0 and marker in r.output


def test_table1_output_file_written(tmp_path):
    out = tmp_path / "t1.csv"
    r = run("table1", "--output", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("alpha,flops_ratio_pct,memory_ratio_pct")


@pytest.mark.parametrize(
    "grid, message",
    [
        ("0,1.5", "1.5 is outside [0, 1]"),
        ("nan", "not NaN"),
        ("0:1:0", "step must be positive"),
        ("a,b", "expected numbers in [0, 1]"),
        ("1:0:0.5", "the range is empty"),
    ],
)
def test_table1_bad_grid_one_line_no_traceback(grid, message):
    r = run("table1", "--alpha", grid)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    assert "--alpha" in r.output


def test_unknown_format_is_rejected():
    r = run("table1", "--format", "xml")
    assert r.exit_code == 2 and "'xml' is not one of" in r.output


def test_layer_check_agrees_json():
    r = run(
        "layer",
        "--in-channels",
        "16",
        "--out-channels",
        "32",
        "--kernel-size",
        "3",
        "--size",
        "8x12",
        "--alpha-in",
        "0.25",
        "--alpha-out",
        "0.5",
        "--stride",
        "2",
        "--bias",
        "--batch",
        "2",
        "--check",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[-1]["path"] == "total" and rows[-1]["agree"] is True
    assert all(row["agree"] for row in rows if row["path"] in ("h2h", "h2l", "l2h", "l2l"))
    assert isinstance(rows[-1]["macs"], int)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--alpha-in", "1.5"], "alpha_in: got 1.5; expected a number in [0, 1]"),
        (["--alpha-out", "nan"], "alpha_out: got nan"),
        (["--in-channels", "0"], "in_channels: got 0; expected an integer >= 1"),
        (["--size", "7x7"], "needs even height and width"),
        (["--size", "abc"], "--size: got 'abc'; expected HxW"),
        (["--groups", "2", "--in-channels", "6", "--out-channels", "6"], "path h2h has 3 input"),
        (["--size", "0x8"], "height and width must be positive"),
    ],
)
def test_layer_bad_input_one_line(args, message):
    base = {"--in-channels": "8", "--out-channels": "8", "--size": "8x8"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    r = run("layer", *[x for kv in base.items() for x in kv])
    assert r.exit_code == 1
    assert message in r.output, r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_unwritable_output_is_a_clear_error(tmp_path):
    r = run("table1", "--output", str(tmp_path / "missing" / "t.csv"))
    assert r.exit_code == 1 and "output:" in r.output and "does not exist" in r.output


def test_table1_does_not_import_torch():
    code = (
        "import sys\n"
        "from octprof.cli import main\n"
        "try:\n    main(['table1'], standalone_mode=False)\n"
        "finally:\n    assert 'torch' not in sys.modules, 'torch imported'\n"
        "    assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "Table 1" in res.stdout


def test_fvcore_warnings_do_not_reach_the_terminal():
    code = (
        "from octprof.core import OctConvSpec\nfrom octprof.crosscheck import layer_crosscheck\n"
        "layer_crosscheck(OctConvSpec(8, 8, 3, 8, alpha_in=0.5, alpha_out=0.5))\n"
    )
    res = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "DeprecationWarning" not in res.stderr and "Warning" not in res.stderr, res.stderr
