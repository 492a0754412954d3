"""One generated test per rule of the registry: a small network around one op of that kind, checked against
FlopCounterMode, fvcore and the real parameter count at α = 0 and α = 0.5 (where the op meets split maps).
A rule without an example here fails ``test_every_rule_has_an_example``: adding a rule adds its test."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from octprof.analysis import Network, UnpricedWarning
from octprof.core.rules import RULES
from octprof.crosscheck import flop_counter, fvcore_count
from octprof.latency import kernels
from octprof.memory import memory_model, observed_saved_bytes


class Around(nn.Module):
    """conv (vanilla stem) → conv (split at α > 0) → the op → conv → global pool → linear."""

    def __init__(self, op, cout: int = 16, extra: nn.Module | None = None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1)
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.op = op
        self.extra = extra
        self.post = nn.Conv2d(cout, 8, 3, 1, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.op(self.conv(torch.relu(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(self.post(y), 1).flatten(1))


class AroundNd(nn.Module):
    """:class:`Around` for 1-D (N, C, L) or 3-D (N, C, T, H, W) maps."""

    def __init__(self, op, dims: int, cout: int = 16) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 3: nn.Conv3d}[dims]
        self.dims = dims
        self.stem = conv(3, 16, 3, 1, 1)
        self.conv = conv(16, 16, 3, 1, 1)
        self.op = op
        self.post = conv(cout, 8, 3, 1, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.op(self.conv(torch.relu(self.stem(x))))
        pool = F.adaptive_avg_pool1d if self.dims == 1 else F.adaptive_avg_pool3d
        return self.fc(pool(self.post(y), 1).flatten(1))


class Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class WithParam(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.rand(1, 16, 1, 1))

    def forward(self, x):
        return x * self.gamma


# kind -> (module factory, input size); the op of that kind sits between split maps at α = 0.5
EXAMPLES = {
    "conv2d": (lambda: Around(nn.Conv2d(16, 16, 3, 2, 1, groups=4)), 16),
    "linear": (lambda: Around(nn.Identity()), 16),
    "batch_norm": (lambda: Around(nn.BatchNorm2d(16)), 16),
    "activation": (lambda: Around(nn.PReLU(16)), 16),
    "dropout": (lambda: Around(nn.Dropout(0.1)), 16),
    "add": (lambda: Around(Fn(lambda x: x + torch.relu(x))), 16),
    "mul": (lambda: Around(WithParam()), 16),
    "sub": (lambda: Around(Fn(lambda x: x - torch.sigmoid(x))), 16),
    "div": (lambda: Around(Fn(lambda x: x / 4.0)), 16),
    "cat": (lambda: Around(Fn(lambda x: torch.cat([x, torch.relu(x)], 1)), cout=32), 16),
    "max_pool2d": (lambda: Around(nn.MaxPool2d(2)), 16),
    "avg_pool2d": (lambda: Around(nn.AvgPool2d(3, 1, 1)), 16),
    "adaptive_avg_pool2d": (lambda: Around(nn.AdaptiveAvgPool2d(4)), 16),
    "adaptive_max_pool2d": (lambda: Around(nn.AdaptiveMaxPool2d(4)), 16),
    "upsample": (lambda: Around(nn.Upsample(scale_factor=2.0, mode="nearest")), 16),
    "flatten": (lambda: Around(Fn(lambda x: x.reshape(x.shape[0], 16, -1).reshape(x.shape))), 16),
    "slice": (lambda: Around(Fn(lambda x: x[:, 4:]), cout=12), 16),
    "data": (lambda: Around(Fn(lambda x: torch.roll(x, 1, dims=1))), 16),
    "chunk": (lambda: Around(Fn(lambda x: torch.cat(torch.chunk(x, 2, dim=1)[::-1], 1))), 16),
    "norm": (lambda: Around(nn.GroupNorm(4, 16)), 16),
    "unknown": (lambda: Around(nn.ConvTranspose2d(16, 16, 3, 1, 1)), 16),
    # a map as (batch, heads = channels, length = rows, features = columns): fused on CPU, priced in closed form
    "sdpa": (lambda: Around(Fn(lambda x: F.scaled_dot_product_attention(x, x, torch.relu(x)))), 16),
    # 1-D (length 32) and 3-D (4 frames of 8x8) maps
    "conv1d": (lambda: AroundNd(nn.Conv1d(16, 16, 3, 2, 1, groups=4), 1), 32),
    "conv3d": (lambda: AroundNd(nn.Conv3d(16, 16, 3, (1, 2, 2), 1, groups=4), 3), (4, 8, 8)),
    "max_pool1d": (lambda: AroundNd(nn.MaxPool1d(2), 1), 32),
    "max_pool3d": (lambda: AroundNd(nn.MaxPool3d((1, 2, 2)), 3), (4, 8, 8)),
    "avg_pool1d": (lambda: AroundNd(nn.AvgPool1d(3, 1, 1), 1), 32),
    "avg_pool3d": (lambda: AroundNd(nn.AvgPool3d(2), 3), (4, 8, 8)),
    "adaptive_avg_pool1d": (lambda: AroundNd(nn.AdaptiveAvgPool1d(4), 1), 32),
    "adaptive_avg_pool3d": (lambda: AroundNd(nn.AdaptiveAvgPool3d((2, 2, 2)), 3), (4, 8, 8)),
}
NO_EXAMPLE = {"input", "output", "constant", "meta"}  # in every example network
# ops that need vanilla input (a non-global adaptive pooling, a reshape): the conv before them stays vanilla
NEEDS_VANILLA = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "flatten", "adaptive_avg_pool1d", "adaptive_avg_pool3d"}


def test_every_rule_has_an_example():
    assert set(RULES) - NO_EXAMPLE == set(EXAMPLES)


@pytest.mark.parametrize("alpha", (0.0, 0.5))
@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_rule_counts_equal_the_counters(kind, alpha):
    factory, size = EXAMPLES[kind]
    torch.manual_seed(0)
    net = Network(factory(), input_size=size)
    assert any(n.kind == kind for n in net.captured.graph), f"the example has no {kind} op"
    a = net.analyze(alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedWarning)
        t = a.total()
    octave = a.octify()
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), flop_counter() as fc:
        out = octave(x)
    assert fc.get_total_flops() == 2 * t["macs"]
    assert sum(p.numel() for p in octave.parameters()) == t["params"]
    assert t["params"] == sum(p.numel() for p in a.model.parameters())
    fv_total, _, _ = fvcore_count(octave, (x,))
    assert fv_total == t["fvcore_flops"]
    if alpha == 0.0:
        assert torch.equal(out, a.model(x))
    else:
        assert bool(a.plan.octave_layers()) == (kind not in NEEDS_VANILLA)


@pytest.mark.parametrize("alpha", (0.0, 0.5))
@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_rule_saved_for_backward_equals_autograd(kind, alpha):
    """The rule's ``saved`` (what the op keeps for backward) against autograd's saved-tensor hooks on the built
    octave network in training mode; ops whose rule says it only estimates are checked to say so."""
    factory, size = EXAMPLES[kind]
    torch.manual_seed(0)
    a = Network(factory(), input_size=size).analyze(alpha)
    model = memory_model(a)
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    observed = observed_saved_bytes(a.octify().train(), x)
    if all(RULES[n.kind].saved_exact(n) for n in a.plan.graph):
        assert model.saved_bytes == observed
    else:
        assert model.approximate_ops()


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_rule_latency_kernels_cover_its_arithmetic(kind):
    """The latency model's kernels of the example at α = .5 carry all of the priced multiply-accumulates: each op's
    rule says how it runs (no kernel, a matrix product, a memory-bound kernel)."""
    factory, size = EXAMPLES[kind]
    torch.manual_seed(0)
    a = Network(factory(), input_size=size).analyze(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedWarning)
        macs = a.total()["macs"]
    ks = kernels(a, impl="reference")
    assert sum(k.macs for k in ks) == macs
    assert all(k.bytes > 0 for k in ks)


def test_the_registry_is_a_closed_set():
    """A rule naming a flow or conversion that does not exist fails when it is registered, not at the first network;
    flow ``conv`` is the octave-layer protocol; every conversion strategy exists in ``octprof.convert``."""
    from octprof.convert import STRATEGIES
    from octprof.core.rules import CONVERTS, FLOWS, OctaveLayer, Rule, rule

    with pytest.raises(ValueError, match="flow 'sideways'"):
        rule(type("Sideways", (Rule,), {"kind": "test_sideways", "flow": "sideways"}))
    with pytest.raises(ValueError, match="convert 'melt'"):
        rule(type("Melt", (Rule,), {"kind": "test_melt", "convert": "melt"}))
    with pytest.raises(ValueError, match="OctaveLayer protocol"):
        rule(type("FakeConv", (Rule,), {"kind": "test_fake_conv", "flow": "conv", "convert": "conv"}))
    assert not {"test_sideways", "test_melt", "test_fake_conv"} & set(RULES)
    assert set(STRATEGIES) == set(CONVERTS)
    assert {r.flow for r in RULES.values()} <= FLOWS
    assert all(isinstance(r, OctaveLayer) == (r.flow == "conv") for r in RULES.values())
