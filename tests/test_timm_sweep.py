"""``benchmarks/timm_sweep.py``: its per-model check, in process, on one small timm network, is EXACT at both alphas;
its model list names each model once and holds tests/test_timm.py's sample."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("timm")

HERE = os.path.dirname(os.path.abspath(__file__))


def _sweep():
    path = os.path.join(HERE, "..", "benchmarks", "timm_sweep.py")
    spec = importlib.util.spec_from_file_location("timm_sweep", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sweep_list_names_each_model_once_and_holds_the_suite_sample():
    from tests.test_timm import SAMPLE

    sweep = _sweep()
    names = [m[1] for m in sweep.MODELS]
    assert len(names) == len(set(names))
    suite = {m[1] for m in sweep.MODELS if m[3] == sweep.SUITE}
    assert suite == {s[1] for s in SAMPLE}


@pytest.mark.slow
def test_sweep_check_is_exact_on_a_small_model():
    import torch

    sweep = _sweep()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = sweep.check_model("resnet10t", 64)
    finally:
        torch.set_num_threads(threads)
    for alpha in ("0.0", "0.5"):
        r = res["alphas"][alpha]
        assert r["status"] == "EXACT", (alpha, r)
        assert r["counter_flops"] == 2 * r["macs"]
        assert r["octave_params"] == r["params"]
    assert res["alphas"]["0.5"]["octave_convs"] > 0
    assert res["alphas"]["0.5"]["macs"] < res["alphas"]["0.0"]["macs"]
