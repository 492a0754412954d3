"""``benchmarks/gpu.py --device cpu --quick``: every section of the GPU check runs on CPU at toy sizes, so that the
first run on a GPU works first time; its JSON and Markdown summary hold what each section promises."""

from __future__ import annotations

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import gpu  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu")
    # a generous budget: on a busy machine the quick run must still run every section (the budget's own behaviour
    # is tested below)
    rc = gpu.main(["--device", "cpu", "--quick", "--out", str(out), "--budget-s", "1800"])
    path = out / "gpu-cpu-quick.json"
    return rc, path, json.loads(path.read_text())


def test_every_section_runs(quick_run):
    rc, _, doc = quick_run
    assert rc == 0
    assert doc["format"] == gpu.FORMAT
    assert list(doc["sections"]) == ["calibrate", "infer", "memory", "table7", "train", "model", "compile"]
    for name, sec in doc["sections"].items():
        assert sec["status"] == "ok", (name, sec["errors"], sec["skipped"])
        assert sec["rows"], name
    assert doc["machine"]["device"] == "cpu"


def test_speedups_are_same_run_ratios(quick_run):
    _, _, doc = quick_run
    for mode in ("infer", "train", "compile"):
        rows = doc["sections"][mode]["rows"]
        groups = {}
        for r in rows:
            groups.setdefault((r["arch"], r["batch"], r["dtype"]), {})[r["alpha"]] = r
        for g in groups.values():
            base = g[0.0]
            assert base["speedup"] == 1.0 and base["theory_speedup"] == 1.0
            for r in g.values():
                assert r["speedup"] == pytest.approx(base["median_ms"] / r["median_ms"], rel=1e-3)
                assert r["theory_speedup"] == pytest.approx(base["macs"] / r["macs"], rel=1e-3)
                assert r["efficiency"] == pytest.approx(r["speedup"] / r["theory_speedup"], rel=1e-3)
    compiled = doc["sections"]["compile"]["rows"]
    assert {r["mode"] for r in compiled} == {"infer", "train"}
    assert all(r["compiled"] == "aot_eager" and r["compile_s"] > 0 for r in compiled)


def test_memory_closed_form_is_exact_where_it_can_be(quick_run):
    _, _, doc = quick_run
    for r in doc["sections"]["memory"]["rows"]:
        # saved-for-backward is exact on any device; the peaks need CUDA's allocator statistics
        assert r["observed_saved_bytes"] == r["saved_bytes"]
        assert r["model_train_peak_bytes"] == r["saved_bytes"] + r["param_bytes"]
        assert r["measured_peak_bytes"] is None
    t7 = doc["sections"]["table7"]["rows"]
    assert {(r["arch"], r["alpha"]) for r in t7} == {
        (a, x) for a in ("resnet152_v1f", "se_resnet152_v1e") for x in (0.0, 0.125)
    }
    assert all(r["paper_mb"] == gpu.PAPER_TABLE7_MB[r["arch"]] for r in t7 if r["alpha"] == 0.125)


def test_latency_model_section_and_offline_recompute(quick_run):
    _, path, doc = quick_run
    model = doc["sections"]["model"]
    timed = len(doc["sections"]["infer"]["rows"]) + len(doc["sections"]["train"]["rows"])
    assert len(model["rows"]) == timed
    assert model["summary"][0]["points"] == "all" and model["summary"][0]["n"] == timed
    before = model["rows"]
    assert gpu.main(["--model-from", str(path)]) == 0
    again = json.loads(path.read_text())["sections"]["model"]
    assert [r["predicted_ms"] for r in again["rows"]] == [r["predicted_ms"] for r in before]
    md = path.with_suffix(".md").read_text()
    for heading in ("## Inference", "## Training", "## Memory", "## Table 7", "## Latency model", "## torch.compile"):
        assert heading in md


def test_budget_skips_sections_and_says_so(tmp_path):
    rc = gpu.main(["--device", "cpu", "--quick", "--out", str(tmp_path), "--budget-s", "0", "--sections", "memory"])
    doc = json.loads((tmp_path / "gpu-cpu-quick.json").read_text())
    assert rc == 0
    sec = doc["sections"]["memory"]
    assert sec["status"] == "skipped" and "budget" in sec["notes"][0]


def test_bad_section_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        gpu.main(["--device", "cpu", "--quick", "--out", str(tmp_path), "--sections", "infer,nope"])
    assert e.value.code == 2
    assert "--sections: unknown nope" in capsys.readouterr().err
