"""The CI gate: an unchanged model passes, a regressed one fails naming (arch, α, metric), broken baselines are
one-line errors, --update is atomic; and the project gates itself on baselines/zoo.json."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from octprof import gate
from octprof.cli import main
from octprof.core.errors import OctprofError
from octprof.zoo import list_models
from tests import gate_models

ROOT = Path(__file__).resolve().parents[1]
TINY = "tests.gate_models:tiny"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def baseline(tmp_path):
    """A fresh baseline of the tiny model at α ∈ {0, 0.5} on a 16×16 input, written by the CLI."""
    path = tmp_path / "baseline.json"
    r = run("gate", "--baseline", path, "--update", "--arch", TINY, "--alpha", "0,0.5", "--input-size", "16")
    assert r.exit_code == 0, r.output
    return path


def regress(monkeypatch):
    """Make ``tests.gate_models:tiny`` build the regressed variant (more vanilla cost at every α)."""
    monkeypatch.setattr(gate_models, "tiny", gate_models.tiny_regressed)


def edit(path, fn):
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_new_baseline_records_the_models_numbers(baseline):
    text = baseline.read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"  # pretty-printed, sorted keys
    assert doc["format"] == gate.FORMAT and doc["version"] == gate.VERSION
    assert [(e["arch"], e["alpha"], e["input_size"]) for e in doc["entries"]] == [(TINY, 0.0, 16), (TINY, 0.5, 16)]
    m0, m5 = doc["entries"][0]["metrics"], doc["entries"][1]["metrics"]
    assert set(m0) == set(gate.DEFAULT_METRICS)
    assert m0["macs"] == gate_models.TINY_MACS_ALPHA0 == 1_290_400
    assert m0["macs_rel"] == 1.0 and m5["macs_rel"] < 0.7
    assert doc["tolerances"]["macs"] == 0 and doc["tolerances"]["macs_rel"] == 0.0001


def test_unchanged_model_passes(baseline):
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 0, r.output
    assert "gate passed: 14 checks over 2 entries; 14 ok, 0 improved, 0 regressed" in r.output
    assert "regressed" not in r.stdout  # no difference table when nothing changed


def test_regressed_model_fails_naming_arch_alpha_and_metric(baseline, monkeypatch):
    regress(monkeypatch)
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 1
    assert "gate FAILED" in r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: gate: ") and "regression(s) beyond tolerance" in last
    assert f"{TINY} alpha=0.5 size=16 macs_rel: " in last
    assert f"{TINY} alpha=0 size=16 macs: 1290400 -> 1331200 (+40800 > tolerance 0)" in last
    # the table of differences: baseline, current, delta, tolerance, status
    header = next(line for line in r.stdout.splitlines() if line.startswith("arch"))
    assert header.split() == [
        "arch",
        "alpha",
        "input_size",
        "metric",
        "baseline",
        "current",
        "delta",
        "delta_pct",
        "tolerance",
        "status",
    ]
    rows = [line.split() for line in r.stdout.splitlines() if line.startswith(TINY)]
    macs_rel = next(row for row in rows if row[1] == "0.5" and row[3] == "macs_rel")
    assert macs_rel[-1] == "regressed" and macs_rel[-2] == "0.0001"


def test_regression_report_as_json(baseline, monkeypatch, tmp_path):
    regress(monkeypatch)
    out = tmp_path / "diff.json"
    r = run("gate", "--baseline", baseline, "--output", out)
    assert r.exit_code == 1
    rows = json.loads(out.read_text())
    bad = {(row["alpha"], row["metric"]) for row in rows if row["status"] == "regressed"}
    assert (0.5, "macs_rel") in bad and (0.0, "macs") in bad and (0.5, "params") in bad
    assert (0.0, "macs_rel") not in bad  # 1.0 stays 1.0


def test_library_check_result(baseline, monkeypatch):
    result = gate.check(baseline)
    assert result.passed and not result.differences()
    regress(monkeypatch)
    result = gate.check(baseline)
    assert not result.passed
    reg = {(r["alpha"], r["metric"]) for r in result.regressions}
    assert (0.5, "macs_rel") in reg
    row = next(r for r in result.rows if r["alpha"] == 0.0 and r["metric"] == "macs")
    assert (row["baseline"], row["current"], row["delta"]) == (1_290_400, 1_331_200, 40_800)


def test_improvement_passes_and_is_reported(baseline):
    edit(baseline, lambda d: d["entries"][1]["metrics"].__setitem__("macs_rel", 0.9))
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 0, r.output
    assert "1 improved" in r.output and "improved" in r.stdout


def test_tolerances_absolute_relative_and_per_entry(baseline, monkeypatch):
    regress(monkeypatch)

    def loosen(d):
        d["tolerances"] = {
            "macs": "5%",
            "macs_rel": 0.02,
            "paper_flops": "5%",
            "paper_flops_rel": 0.02,
            "fmap_elems": "20%",
            "fmap_elems_rel": 0.02,
        }
        for e in d["entries"]:
            e["tolerances"] = {"params": "800%"}

    edit(baseline, loosen)
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 0, r.output
    assert "0 regressed" in r.output
    edit(baseline, lambda d: d["tolerances"].__setitem__("macs", "1%"))  # +3.2 % > 1 %
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 1 and "macs: 1290400 -> 1331200 (+40800 > tolerance 1%)" in r.output


def test_update_locks_in_the_new_numbers(baseline, monkeypatch):
    regress(monkeypatch)
    r = run("gate", "--baseline", baseline, "--update")
    assert r.exit_code == 0, r.output
    assert "regressed" in r.stdout  # it still shows what changed
    assert "updated" in r.output
    doc = json.loads(baseline.read_text())
    assert doc["entries"][0]["metrics"]["macs"] == 1_331_200
    assert run("gate", "--baseline", baseline).exit_code == 0


def test_update_keeps_tolerances_and_adds_entries(baseline):
    edit(baseline, lambda d: d["tolerances"].__setitem__("macs", "2%"))
    r = run("gate", "--baseline", baseline, "--update", "--arch", "resnet26", "--alpha", "0,0.5", "--input-size", "32")
    assert r.exit_code == 0, r.output
    doc = json.loads(baseline.read_text())
    assert doc["tolerances"]["macs"] == "2%"
    assert [(e["arch"], e["alpha"]) for e in doc["entries"]] == [
        ("resnet26", 0.0),
        ("resnet26", 0.5),
        (TINY, 0.0),
        (TINY, 0.5),
    ]


def test_update_is_atomic_when_interrupted(baseline, monkeypatch):
    before = baseline.read_bytes()
    regress(monkeypatch)

    def interrupted(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", interrupted)
    r = run("gate", "--baseline", baseline, "--update")
    assert r.exit_code == 1 and "No space left on device" in r.output
    assert baseline.read_bytes() == before
    assert os.listdir(baseline.parent) == [baseline.name]  # no temporary file left behind


def test_save_interrupted_by_keyboard_interrupt_leaves_old_file(baseline, monkeypatch):
    before = baseline.read_bytes()
    b = gate.load(baseline)
    b.entries[0].metrics["macs"] = 1

    def interrupt(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        gate.save(b, baseline)
    assert baseline.read_bytes() == before
    assert os.listdir(baseline.parent) == [baseline.name]


def _entry0(key, value):
    return lambda d: d["entries"][0].__setitem__(key, value)


def _metric0(key, value):
    return lambda d: d["entries"][0]["metrics"].__setitem__(key, value)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("entries"), "missing key(s) entries"),
        (lambda d: d.__setitem__("format", "something"), "format: got 'something'"),
        (lambda d: d.__setitem__("version", 99), "newer octprof"),
        (lambda d: d.__setitem__("version", "1"), "version: got '1'"),
        (lambda d: d.__setitem__("extra", 1), "unknown top-level key"),
        (lambda d: d.__setitem__("entries", {}), "entries: got 'dict'"),
        (lambda d: d["tolerances"].__setitem__("macs", "lots"), "tolerances.macs: got 'lots'"),
        (lambda d: d["tolerances"].__setitem__("macs", -1), "tolerances.macs: got -1"),
        (lambda d: d["tolerances"].__setitem__("speed", 0), "tolerances: got 'speed'; unknown metric"),
        (lambda d: d["entries"][0].pop("metrics"), "entries[0]: got"),
        (_entry0("alpha", "0.5"), "entries[0].alpha: got '0.5'"),
        (_entry0("alpha", 2), "entries[0].alpha: got 2"),
        (_entry0("arch", 7), "entries[0].arch: got 7"),
        (_entry0("arch", "resnet5O"), "entries[0].arch: got 'resnet5O'"),
        (_entry0("arch", "tests.gate_models:nothing"), "has no callable 'nothing'"),
        (_entry0("input_size", "big"), "entries[0].input_size: got 'big'"),
        (_entry0("batch", 0), "entries[0].batch: got 0"),
        (_entry0("colour", "red"), "unknown key(s)"),
        (_metric0("macs", "many"), "entries[0].metrics.macs: got 'many'"),
        (_metric0("macs", True), "entries[0].metrics.macs: got True"),
        (_metric0("speed", 1), "entries[0].metrics: got 'speed'; unknown metric"),
        (lambda d: d["entries"].append(d["entries"][0]), "duplicates entries[0]"),
        (lambda d: d["entries"].__setitem__(0, []), "entries[0]: got 'list'"),
    ],
)
def test_hand_broken_baseline_is_a_one_line_error(baseline, change, message):
    edit(baseline, change)
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 1
    assert message in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert str(baseline) in r.output


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"entries": [', "not valid JSON (line 1, column"),
        ("", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ("null", "expected a JSON object"),
    ],
)
def test_corrupt_baseline_is_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "b.json"
    path.write_text(text)
    r = run("gate", "--baseline", path)
    assert r.exit_code == 1
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    with pytest.raises(OctprofError, match="Hint: recreate it"):
        gate.load(path)


def test_missing_baseline_and_misused_options(tmp_path):
    r = run("gate", "--baseline", tmp_path / "none.json")
    assert r.exit_code == 1 and "no such file" in r.output and "--update --arch" in r.output
    r = run("gate", "--baseline", tmp_path / "none.json", "--update")
    assert r.exit_code == 1 and "to create it" in r.output
    r = run("gate", "--baseline", tmp_path / "none.json", "--arch", "resnet26")
    assert r.exit_code == 1 and "only with --update" in r.output
    r = run("gate", "--baseline", tmp_path / "b.json", "--update", "--arch", "nope_zz")
    assert r.exit_code == 1 and "arch: got 'nope_zz'" in r.output
    assert not (tmp_path / "b.json").exists()


def test_a_model_that_fails_to_build_is_named(baseline):
    edit(baseline, _entry0("arch", "tests.gate_models:broken"))
    r = run("gate", "--baseline", baseline)
    assert r.exit_code == 1
    assert "tests.gate_models:broken" in r.output and "cannot build this model" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_tolerance_parsing():
    assert gate.Tolerance.parse("0.5%", "t").allowed(200) == 1.0
    assert gate.Tolerance.parse(3, "t").allowed(200) == 3
    assert str(gate.Tolerance.parse(" 2 % ", "t")) == "2%"
    for bad in ("%", "-1%", True, None, float("nan")):
        with pytest.raises(OctprofError):
            gate.Tolerance.parse(bad, "t")


@pytest.mark.slow
def test_zoo_baseline_gate_passes():
    """The project's own gate: every zoo architecture at α ∈ {0, 0.125, 0.25, 0.5, 0.75}, at its own input."""
    path = ROOT / "baselines" / "zoo.json"
    b = gate.load(path)
    covered = {(e.arch, e.alpha) for e in b.entries}
    assert covered == {(a, alpha) for a in list_models() for alpha in (0.0, 0.125, 0.25, 0.5, 0.75)}
    # each model at its own input: 224×224 images, 8×224×224 clips for the video entries
    assert {e.input_size for e in b.entries} == {224, (8, 224, 224)}
    result = gate.check(b)
    assert result.passed, result.failure_message()
    assert len(result.rows) == len(b.entries) * len(gate.DEFAULT_METRICS)
