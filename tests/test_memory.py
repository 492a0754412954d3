"""The activation-memory model: tensor sizes, liveness peak and saved-for-backward bytes, with checks."""

from __future__ import annotations

import pytest
import torch

from octprof.analysis import Network
from octprof.core.gains import memory_ratio
from octprof.memory import (
    closed_form_activations,
    fvcore_activations,
    measured_peak_bytes,
    memory_model,
    memory_table,
    observed_saved_bytes,
    observed_tensors,
)
from tests.nets import CifarResNet, SENet, Three


def test_hand_worked_liveness_peak_and_saved_bytes():
    a = Network(Three(), input_size=8).analyze(0.5)
    m = memory_model(a)
    # float32, batch 1.  conv1: a 8x8x8 = 2048 B.  conv2 (h2h 4x8x8 = 1024 B, pool 8x4x4 = 512 B, h2l 4x4x4 = 256 B)
    # runs h2h (a + H = 3072), pool (3584, then a dies: 1536), h2l (1792, then the pool dies: 1280).  conv3 runs
    # h2h 8x8x8 (1280 + 2048 = 3328, H dies: 2304), l2h 8x4x4 (2816, L dies: 2560), upsample 8x8x8 (4608, T dies:
    # 4096), add 8x8x8 (6144).  Peak 6144 B, in conv3.
    assert m.peak_bytes == 6144 and m.peak_node == "conv3"
    # conv1 keeps the network input (the caller's, not counted); conv2's h2h and pool keep a (2048), h2l keeps
    # the pooled map (512); conv3's h2h keeps H (1024), l2h keeps L (256): 3840 B.
    assert m.saved_bytes == 3840
    assert m.act_bytes == 2048 + 1024 + 512 + 256 + 2048 + 512 + 2048 + 2048
    assert m.input_bytes == 512 and m.output_bytes == 2048
    x = torch.randn(1, 2, 8, 8)
    assert observed_saved_bytes(a.octify().train(), x) == 3840


def _cases():
    return [
        ("cifar", lambda: CifarResNet(width=8), 16, 2),
        ("senet", lambda: SENet(), 16, 2),
        ("resnet26", "resnet26", 64, 1),
        ("mobilenet_v2", "mobilenet_v2", 64, 1),  # ReLU6 (a hardtanh) keeps its input, depthwise convs
    ]


def _hook_cases():
    small = [(*c, a) for c in _cases()[:2] for a in (0.0, 0.5)]
    return small + [(*c, 0.5) for c in _cases()[2:]]


@pytest.mark.parametrize("name, arch, size, batch, alpha", _hook_cases(), ids=[f"{c[0]}-{c[4]}" for c in _hook_cases()])
def test_model_tensor_sizes_equal_forward_hooks(name, arch, size, batch, alpha):
    torch.manual_seed(0)
    net = Network(arch() if callable(arch) else arch, input_size=size, batch=batch)
    a = net.analyze(alpha)
    m = memory_model(a)
    model = a.octify()
    x = torch.randn(net.captured.input_shape)
    seen = observed_tensors(model, x)
    assert m.module_outputs, "no module outputs to compare"
    for module, tids in m.module_outputs.items():
        assert seen[module] == [m.tensors[t].shape for t in tids], module
    assert {name for name in seen if name in m.module_outputs} == set(m.module_outputs)
    # every tensor the cost model prices is in the memory model (views included, as act_elems counts them)
    if not a.plan.merges and not any(c.mode == "vector" for c in a.plan.convs.values()):
        assert sum(t.elems for t in m.tensors if t.role != "input") == a.total()["act_elems"]


@pytest.mark.parametrize("name, arch, size, batch", _cases(), ids=[c[0] for c in _cases()])
def test_saved_for_backward_equals_autograd_hooks(name, arch, size, batch):
    torch.manual_seed(0)
    net = Network(arch() if callable(arch) else arch, input_size=size, batch=batch)
    a = net.analyze(0.5)
    x = torch.randn(net.captured.input_shape)
    assert memory_model(a).saved_bytes == observed_saved_bytes(a.octify().train(), x)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_fvcore_activation_count_equals_closed_form(alpha):
    torch.manual_seed(0)
    net = Network(SENet(), input_size=16, batch=2)
    a = net.analyze(alpha)
    x = torch.randn(net.captured.input_shape)
    assert closed_form_activations(a) == fvcore_activations(a.octify(), x)


def test_measured_cpu_peak_holds_at_least_the_live_tensors():
    torch.manual_seed(0)
    net = Network(Three(), input_size=8)
    a = net.analyze(0.5)
    measured = measured_peak_bytes(a.octify(), torch.randn(1, 2, 8, 8))
    assert measured is not None and measured >= memory_model(a).peak_bytes


def test_memory_table_next_to_table1():
    df = memory_table(CifarResNet(width=8), [0.25, 0.5], batch=1, input_size=16, check=True)
    assert list(df["alpha"]) == [0.0, 0.25, 0.5]
    assert list(df["table1_memory_ratio"]) == [memory_ratio(a) for a in (0.0, 0.25, 0.5)]
    first = df.iloc[0]
    assert first["fmap_ratio"] == 1.0 and first["peak_ratio"] == 1.0 and first["saved_ratio"] == 1.0
    assert (df["fmap_ratio"].diff().dropna() < 0).all()
    assert (df["closed_activations"] == df["fvcore_activations"]).all()


@pytest.mark.cuda
def test_measured_cuda_peak():
    torch.manual_seed(0)
    a = Network(Three(), input_size=8).analyze(0.5)
    measured = measured_peak_bytes(a.octify().cuda(), torch.randn(1, 2, 8, 8, device="cuda"), "cuda")
    assert measured is not None and measured >= memory_model(a).peak_bytes
