"""``benchmarks/torchvision_sweep.py``: its list is every classification and video model torchvision has, once each,
and its check (``benchmarks/sweep.py``, in process) is EXACT on a video network given as a clip."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("torchvision")

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str):
    path = os.path.join(HERE, "..", "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sweep_lists_every_torchvision_model_once():
    import torchvision.models as tvm

    names = [m[1] for m in _load("torchvision_sweep").MODELS]
    assert len(names) == len(set(names))
    assert set(names) == set(tvm.list_models(module=tvm) + tvm.list_models(module=tvm.video))


@pytest.mark.slow
def test_sweep_check_is_exact_on_a_video_clip():
    import torch

    sweep = _load("sweep")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = sweep.check_model("torchvision:r3d_18", [4, 32, 32])  # a list, as the child reads it from JSON
    finally:
        torch.set_num_threads(threads)
    assert res["input_shape"] == [1, 3, 4, 32, 32]
    for alpha in ("0.0", "0.5"):
        r = res["alphas"][alpha]
        assert r["status"] == "EXACT", (alpha, r)
        assert r["counter_flops"] == 2 * r["macs"]
        assert r["octave_params"] == r["params"]
