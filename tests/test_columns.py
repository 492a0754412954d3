"""Tables that fit: compact defaults of at most 120 characters, --columns all and presets, footnotes once and only
for the columns shown, exact numbers in JSON and CSV."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from octprof.cli import main
from octprof.cli.columns import footnotes, is_data_format, select_columns
from octprof.core.errors import OctprofError

WIDTH = 120


def run(*args):
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def widest(text):
    return max(len(line) for line in text.splitlines())


def notes_of(text):
    """The footnotes under a text table, continuation lines joined."""
    out = []
    for line in text.split("\n\n", 1)[1].splitlines():
        if line.startswith("* "):
            out.append(line[2:])
        elif line.startswith("  ") and out:
            out[-1] += " " + line.strip()
    return out


# ------------------------------------------------------------------------------------------------------ helpers

AVAIL = ["arch", "alpha", "macs", "flops", "macs_rel", "params"]
PRESETS = {"costs": ("arch", "alpha", "macs", "flops", "fvcore_flops"), "gains": ("arch", "alpha", "macs_rel")}


def test_select_columns_default_all_presets_and_names():
    assert select_columns(None, AVAIL, ("arch", "macs", "nope")) == ["arch", "macs"]
    assert select_columns(None, AVAIL, ("arch",), data=True) == AVAIL
    assert select_columns("all", AVAIL, ("arch",)) == AVAIL
    # presets keep the available columns; combined with names, each column once, in the order asked
    assert select_columns("costs", AVAIL, (), PRESETS) == ["arch", "alpha", "macs", "flops"]
    assert select_columns("gains, params,macs_rel", AVAIL, (), PRESETS) == ["arch", "alpha", "macs_rel", "params"]
    assert select_columns("costs,gains", AVAIL, (), PRESETS) == ["arch", "alpha", "macs", "flops", "macs_rel"]


@pytest.mark.parametrize("text, message", [("macs,bogus", "got 'bogus'"), ("x,y", "got 'x,y'"), (" , ", "at least")])
def test_select_columns_unknown_names_one_line(text, message):
    with pytest.raises(OctprofError) as e:
        select_columns(text, AVAIL, (), PRESETS)
    assert message in str(e.value) and "--columns" in str(e.value) and "\n" not in str(e.value)
    if "bogus" in text:
        assert "presets (all, costs, gains)" in str(e.value) and "macs_rel" in str(e.value)


def test_footnotes_only_for_shown_columns_each_once():
    defs = [("macs", "M"), (("flops", "fvcore"), "F"), ("*_rel", "R"), ("params", "P"), ("macs_rel", "R")]
    assert footnotes(["arch", "macs", "macs_rel", "paper_flops_rel"], defs) == ["M", "R"]
    assert footnotes(["fvcore", "flops"], defs) == ["F"]
    assert footnotes(["arch"], defs) == []


@pytest.mark.parametrize(
    "fmt, output, data",
    [
        (None, None, False),
        ("csv", None, True),
        (None, "x.json", True),
        (None, "x.md", False),
        ("table", "x.csv", False),
    ],
)
def test_data_formats_get_every_column(fmt, output, data):
    assert is_data_format(fmt, output) is data


# ------------------------------------------------------------------------------------------------------ commands


def test_list_default_fits_and_all_has_the_presets():
    text = run("list")
    assert widest(text) <= WIDTH
    assert text.splitlines()[0].split() == ["arch", "input_size", "description"]
    assert "\n* " not in text  # no footnote explains a column that is not shown
    wide = run("list", "--columns", "all")
    assert "stride_pool" in wide.splitlines()[0] and "source" in wide.splitlines()[0]
    assert len(notes_of(wide)) == 2


def test_table_default_fits_with_footnotes_for_shown_columns_once():
    text = run("table", "--arch", "resnet50")
    assert widest(text) <= WIDTH
    header = text.splitlines()[0].split()
    assert header == ["arch", "alpha", "macs", "paper_flops", "params", "macs_rel", "paper_flops_rel", "fmap_elems_rel"]
    notes = notes_of(text)
    starts = [n.split(" = ")[0] for n in notes if " = " in n]
    assert len(starts) == len(set(starts))  # each column defined once
    assert {"macs", "paper_flops", "params", "fmap_elems", "*_rel"} <= set(starts)
    assert not {"flops", "fvcore_flops", "act_elems", "fvcore"} & set(starts)  # hidden columns are not explained
    assert any(n.startswith("resnet50 at alpha 0.75: 45 of 53 convs octave") for n in notes)


def test_table_presets_and_all():
    text = run("table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0,0.5", "--columns", "memory,act_bytes")
    header = text.splitlines()[0].split()
    assert header == ["arch", "alpha", "act_elems", "act_bytes", "fmap_elems", "act_elems_rel", "fmap_elems_rel"]
    assert sum(n.startswith("act_elems =") for n in notes_of(text)) == 1
    full = run("table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0.5", "--columns", "all")
    assert {"flops", "fvcore_flops", "params_rel", "octave_layers", "refused"} <= set(full.splitlines()[0].split())


def test_table_json_and_csv_are_exact_and_complete():
    rows = json.loads(run("table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0,0.5", "--format", "json"))
    assert {"flops", "fvcore_flops", "act_bytes", "params_rel", "octave_layers"} <= set(rows[1])
    for c in ("macs", "paper_flops", "fvcore_flops", "params", "act_elems", "fmap_elems"):
        assert rows[1][f"{c}_rel"] == rows[1][c] / rows[0][c]  # not rounded
    assert rows[1]["macs_rel"] != round(rows[1]["macs_rel"], 4)
    text = run("table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0,0.5", "--format", "csv")
    data = list(csv.DictReader(io.StringIO(text)))
    assert float(data[1]["macs_rel"]) == rows[1]["macs_rel"]


def test_table_per_layer_default_fits():
    text = run("table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0.5", "--per-layer")
    assert widest(text) <= WIDTH
    assert text.splitlines()[0].split()[:4] == ["layer", "op", "alpha_in", "alpha_out"]
    plan = run(
        "table", "--arch", "resnet26", "--input-size", "64", "--alpha", "0.5", "--per-layer", "--columns", "plan"
    )
    assert "vanilla_reason" in plan.splitlines()[0] and "reads the network input" in plan


def test_paper_short_status_numbered_footnotes():
    text = run("paper", "--table", "5")
    assert widest(text) <= WIDTH
    header = text.splitlines()[0].split()
    assert "why" not in header and header[-1] == "status"
    notes = notes_of(text)
    numbered = [n for n in notes if n.startswith("[")]
    assert [n[:3] for n in numbered] == ["[1]", "[2]"]
    body = text.split("\n\n")[0].splitlines()[2:]
    for n in (1, 2):
        assert any(line.rstrip().endswith(f"explained [{n}]") for line in body)
    assert "the rest are explained" not in text
    assert notes[0].startswith("10 of 12 published counts agree") and notes[0].endswith("; 2 explained")


def test_paper_explain_and_data_rows():
    rows = json.loads(run("paper", "--table", "Table 5", "--format", "json"))
    by = {(r["arch"], r["alpha"], r["metric"]): r for r in rows}
    assert by[("mobilenet_v2", 0.0, "GFLOPs")]["status"] == "explained [2]"
    assert "Gluon" in by[("mobilenet_v2", 0.0, "GFLOPs")]["why"]
    assert by[("mobilenet_v2", 0.0, "params (M)")]["status"] == "ok"
    assert by[("mobilenet_v2", 0.0, "params (M)")]["why"] == ""  # an ok row carries no GFLOPs explanation
    r = by[("mobilenet_v1", 0.5, "GFLOPs")]
    assert r["diff"] == r["octprof"] - r["published"] and r["macs_pool"] > r["macs"]  # exact numbers
    text = run("paper", "--table", "table 5", "--explain")
    assert text.splitlines()[0].split()[-1] == "why" and not any(n.startswith("[1]") for n in notes_of(text))


def test_paper_all_ok_says_nothing_about_the_rest():
    text = run("paper", "--table", "2")
    assert notes_of(text)[0] == "5 of 5 published counts agree within the paper's rounding"


def test_paper_published_prices_nothing():
    text = run("paper", "--published", "--table", "Figure 4")
    assert widest(text) <= WIDTH and "top1" in text.splitlines()[0] and "resnext101_32x4d" in text


@pytest.mark.slow
def test_table_default_fits_for_the_whole_zoo():
    text = run("table", "--arch", "all", "--alpha", "0,0.5")
    assert widest(text) <= WIDTH


@pytest.mark.slow
def test_table_check_default_fits():
    text = run("table", "--arch", "resnet50", "--alpha", "0.5", "--check")
    assert widest(text) <= WIDTH
    assert text.splitlines()[0].split()[-1] == "agree"
    starts = [n.split(" = ")[0] for n in notes_of(text) if " = " in n]
    assert len(starts) == len(set(starts)) and "paper_flops" not in starts


def test_layer_default_and_check_fit_with_each_definition_once():
    args = ["layer", "--in-channels", "1024", "--out-channels", "2048", "--size", "112", "--stride", "2", "--bias"]
    text = run(*args)
    assert widest(text) <= WIDTH
    assert text.splitlines()[0].split() == [
        "path", "note", "out_shape", "macs", "paper_flops", "fvcore_flops", "params", "act_elems"
    ]  # fmt: skip
    notes = notes_of(text)
    assert notes[0].startswith("vanilla 3x3 conv:") and not any(n.startswith(("flops", "agree")) for n in notes)
    checked = run(*args[:5], "--size", "16", "--check")
    assert widest(checked) <= WIDTH and checked.splitlines()[0].split()[-1] == "agree"
    starts = [n.split(" = ")[0] for n in notes_of(checked) if " = " in n]
    assert len(starts) == len(set(starts)) and "paper_flops" not in starts
    memory = run(*args, "--columns", "memory")
    assert memory.splitlines()[0].split() == ["path", "in_shape", "out_shape", "act_elems", "in_bytes", "out_bytes"]
    assert any(n.startswith("bytes at float32 (4 B/element)") for n in notes_of(memory))


def test_bench_text_folds_the_settings_every_row_shares():
    """A bench table names its run settings once, in a note, so the text fits 120 characters; CSV keeps them."""
    import pandas as pd

    from octprof.bench import results_text

    row = {
        "arch": "resnext101_32x4d",
        "alpha": 0.5,
        "batch": 1,
        "input_size": "224x224",
        "device": "cpu",
        "dtype": "float32",
        "threads": 2,
        "mode": "infer",
        "channels_last": True,
        "compiled": False,
        "backend": "eager",
        "precision": "float32",
        "impl": "fast",
        "median_ms": 1234.5678,
        "iqr_ms": 12.3456,
        "throughput": 0.81,
        "speedup": 1.4321,
        "theory_speedup": 1.7654,
        "efficiency": 0.8112,
        "macs": 16_000_000_000,
        "repeats": 20,
    }
    df = pd.DataFrame([row, {**row, "alpha": 0.0, "speedup": 1.0}])
    text = results_text(df, "table")
    table = text.split("\n\n")[0]
    assert widest(table) <= WIDTH and "backend" not in table.splitlines()[0]
    assert "every row: input_size 224x224, device cpu" in " ".join(text.split())
    assert "backend" in results_text(df, "csv").splitlines()[0]
