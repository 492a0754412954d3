"""The paper's published counts, and the network commands (table, list, paper) through the CLI."""

import json

import pytest
from click.testing import CliRunner

from octprof.cli import main
from octprof.paper import compare, paper_results


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_paper_data_has_sources_and_known_archs():
    from octprof.zoo import list_models

    rows = paper_results()
    assert len(rows) > 20
    assert all(r["source"] for r in rows)
    assert {r["arch"] for r in rows} <= set(list_models())


def test_every_published_count_agrees_or_is_explained():
    rows = compare()
    assert rows
    bad = [r for r in rows if r["status"] not in ("ok", "ok (macs_pool)", "explained")]
    assert not bad, bad
    assert all(r["why"] for r in rows if r["status"] == "explained")
    # Table 2: ResNet-50 at alpha 0 .. 0.75 within 0.05 G of 4.1, 3.6, 3.1, 2.4, 1.9
    t2 = [r for r in rows if r["table"] == "Table 2"]
    assert len(t2) == 5 and all(r["status"] == "ok" for r in t2)


def test_table_json_one_record_per_arch_and_alpha():
    r = run("table", "--arch", "resnet50", "--arch", "mobilenet_v1", "--alpha", "0,0.5", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[r.output.index("[") :])
    assert [(x["arch"], x["alpha"]) for x in rows] == [
        ("resnet50", 0.0),
        ("resnet50", 0.5),
        ("mobilenet_v1", 0.0),
        ("mobilenet_v1", 0.5),
    ]
    assert rows[0]["macs_rel"] == 1.0 and rows[1]["macs_rel"] < 0.6
    assert isinstance(rows[1]["macs"], int) and rows[1]["flops"] == 2 * rows[1]["macs"]


def test_table_check_and_model_factory(tmp_path):
    out = tmp_path / "t.csv"
    r = run(
        "table",
        "--model",
        "tests.nets:cifar_resnet",
        "--input-size",
        "32",
        "--alpha",
        "0,0.5",
        "--check",
        "-o",
        str(out),
    )
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "agree" in text.splitlines()[0] and text.count("True") == 2


def test_table_per_layer():
    r = run(
        "table", "--model", "tests.nets:unet", "--input-size", "32", "--alpha", "0.5", "--per-layer", "--format", "csv"
    )
    assert r.exit_code == 0, r.output
    assert "alpha_out" in r.output.splitlines()[0] and "enc1.0" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--arch", "resnet5"], "Did you mean: resnet50"),
        (["--model", "no_such_module_xyz:f"], "cannot import module 'no_such_module_xyz'"),
        (["--arch", "resnet50", "--alpha", "0,2"], "2 is outside [0, 1]"),
        (["--model", "tests.nets:cifar_resnet", "--input-size", "abc"], "--input-size: got 'abc'"),
        (["--arch", "densenet121", "--input-size", "8"], "the network fails on it"),
        (["--arch", "resnet50", "--vanilla", "block9.*"], "the pattern matches no convolution"),
        ([], "give at least one --arch"),
    ],
)
def test_table_bad_input(args, message):
    r = run("table", *args)
    assert r.exit_code != 0
    assert message in r.output, r.output
    assert "Traceback" not in r.output


def test_list_and_paper_commands():
    r = run("list", "--format", "json")
    assert r.exit_code == 0
    names = [x["arch"] for x in json.loads(r.output)]
    from octprof.zoo import list_models

    assert "resnet50" in names and names == list_models() and len(names) == 17  # 15 image networks, 2 video
    r = run("paper", "--table", "Table 2", "--format", "csv")
    assert r.exit_code == 0, r.output
    assert r.output.count("resnet50") == 5 and "differs" not in r.output
