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


class Affine(nn.Module):
    """ResMLP's affine layer on a map: ``torch.addcmul(beta, alpha, x)`` (per-channel parameters), then an addcdiv
    of two maps."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.rand(1, 16, 1, 1))
        self.beta = nn.Parameter(torch.rand(1, 16, 1, 1))

    def forward(self, x):
        y = torch.addcmul(self.beta, self.alpha, x)
        return y.addcdiv(x, torch.sigmoid(y) + 1.0, value=0.5)


class Windows(nn.Module):
    """VOLO-style im2col and col2im: every 3x3 window of the map (``nn.Unfold``), summed back (``F.fold``)."""

    def __init__(self) -> None:
        super().__init__()
        self.unfold = nn.Unfold(3, padding=1)

    def forward(self, x):
        return F.fold(self.unfold(x), (16, 16), 3, padding=1)


class PadCrop(nn.Module):
    """NASNet's ``nn.ZeroPad2d((1, 0, 1, 0))``, then a crop back to the map's size."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 0, 1, 0))

    def forward(self, x):
        return self.pad(x)[:, :, 1:, 1:]


class WithParam(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.rand(1, 16, 1, 1))

    def forward(self, x):
        return x * self.gamma


# example -> (module factory, input size): the example ``kind`` or ``kind:what`` has an op of that kind, between
# split maps at α = 0.5 (a kind with several forms has one example per form)
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
    # LeViT: reshape_as / view_as read the other tensor's shape only
    "flatten:as": (
        lambda: Around(Fn(lambda x: x.reshape(x.shape[0], 16, -1).reshape_as(x).view(x.shape[0], -1).view_as(x))),
        16,
    ),
    "slice": (lambda: Around(Fn(lambda x: x[:, 4:]), cout=12), 16),
    "data": (lambda: Around(Fn(lambda x: torch.roll(x, 1, dims=1))), 16),
    # GCViT: repeat_interleave (along channels here: the map is merged first)
    "data:repeat_interleave": (lambda: Around(Fn(lambda x: x.repeat_interleave(2, dim=1)), cout=32), 16),
    # NASNet's ZeroPad2d, then a crop back; HieraDet's tile
    "data:pad": (lambda: Around(PadCrop()), 16),
    "data:tile": (lambda: Around(Fn(lambda x: x.tile((1, 2, 1, 1))), cout=32), 16),
    # powers, roots, sin / cos per frequency; 2 ** x keeps its exponent and result, x ** 2 its base
    "pointwise": (
        lambda: Around(
            Fn(lambda x: torch.rsqrt(x.pow(2) + 1.0) + (x**2).sqrt() + torch.square(x.sin()) * x.cos() + 2**x)
        ),
        16,
    ),
    "cast": (lambda: Around(Fn(lambda x: torch.relu(x.to(torch.float64).float().to(torch.float32)))), 16),
    "cast:type_as": (lambda: Around(Fn(lambda x: torch.relu(x.double().type_as(x)))), 16),
    # Swin v2's logit scale (clamp, exp), EVA's rotary embedding (-x), abs and log
    "pointwise:exp": (
        lambda: Around(Fn(lambda x: torch.clamp(x, max=2.0).exp() + (-x) + torch.log(x.abs() + 1.0))),
        16,
    ),
    "addcmul": (lambda: Around(Affine()), 16),
    "unfold": (lambda: Around(Windows()), 16),
    # HaloNet: Tensor.unfold, a view of 2x2 blocks, folded into channels
    "unfold:view": (
        lambda: Around(
            Fn(lambda x: x.unfold(2, 2, 2).unfold(3, 2, 2).permute(0, 1, 4, 5, 2, 3).reshape(x.shape[0], 64, 8, 8)), 64
        ),
        16,
    ),
    "normalize": (lambda: Around(Fn(lambda x: F.normalize(F.normalize(x, dim=1), dim=-1))), 16),
    "cumsum": (lambda: Around(Fn(lambda x: x.cumsum(1) + torch.cumsum(x, dim=2))), 16),
    # along a dim (values, indices) and per element
    "max": (
        lambda: Around(
            Fn(lambda x: x.max(1, keepdim=True)[0] + torch.max(x, torch.relu(x)).min(1, keepdim=True)[0]),
            cout=1,
        ),
        16,
    ),
    # Hiera's amax, CSATv2's norm, across channels (the map merged first)
    "max:reduce": (
        lambda: Around(Fn(lambda x: x.amax(1, keepdim=True) + x.norm(2, dim=1, keepdim=True)), cout=1),
        16,
    ),
    # constants made from sizes on the map's device (fx runs a call with constant arguments while tracing: these
    # read x's sizes), reduced to one-element tensors and added to a map
    "create": (
        lambda: Around(
            Fn(
                lambda x: (
                    x
                    + torch.arange(x.shape[1], device=x.device).float().mean(0, keepdim=True)
                    + torch.zeros(x.shape[0], device=x.device).sum(0, keepdim=True)
                    + torch.full((x.shape[0],), 2.0, device=x.device).mean(0, keepdim=True)
                    + torch.ones(x.shape[1], device=x.device).sum(0, keepdim=True)
                )
            )
        ),
        16,
    ),
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


def _kind(example: str) -> str:
    return example.split(":")[0]


def test_every_rule_has_an_example():
    assert set(RULES) - NO_EXAMPLE == {_kind(e) for e in EXAMPLES}


@pytest.mark.parametrize("alpha", (0.0, 0.5))
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_rule_counts_equal_the_counters(example, alpha):
    factory, size = EXAMPLES[example]
    kind = _kind(example)
    torch.manual_seed(0)
    net = Network(factory(), input_size=size)
    assert any(n.kind == kind for n in net.captured.graph), f"the example has no {kind} op"
    a = net.analyze(alpha)
    assert kind == "unknown" or not a.unpriced_counts()  # every op of the example has a rule
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
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_rule_saved_for_backward_equals_autograd(example, alpha):
    """The rule's ``saved`` (what the op keeps for backward) against autograd's saved-tensor hooks on the built
    octave network in training mode; ops whose rule says it only estimates are checked to say so."""
    factory, size = EXAMPLES[example]
    torch.manual_seed(0)
    a = Network(factory(), input_size=size).analyze(alpha)
    model = memory_model(a)
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    observed = observed_saved_bytes(a.octify().train(), x)
    if all(RULES[n.kind].saved_exact(n) for n in a.plan.graph):
        assert model.saved_bytes == observed
    else:
        assert model.approximate_ops()


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_rule_latency_kernels_cover_its_arithmetic(example):
    """The latency model's kernels of the example at α = .5 carry all of the priced multiply-accumulates: each op's
    rule says how it runs (no kernel, a matrix product, a memory-bound kernel)."""
    factory, size = EXAMPLES[example]
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


def test_hand_worked_saved_of_normalize_and_powers():
    """What the new per-element and norm rules keep for backward, worked by hand on a 1x16x16x16 map."""
    from octprof.core.rules import Saved

    net = Network(Around(Fn(lambda x: F.normalize(x, dim=1) + 2**x + x**2 + torch.sqrt(torch.relu(x)))), input_size=16)
    nodes = {n.target: n for n in net.captured.graph}
    # F.normalize along channels keeps the map (16·16·16 = 4096 elements, its first input) and two norms of one
    # element per pixel (the norm and the clamped norm: 2 · 16·16 = 512 elements)
    norm = nodes["torch.nn.functional.normalize"]
    assert RULES["normalize"].saved(norm, norm.out_shape) == Saved(inputs=1, copy_elems=2 * 16 * 16)
    pows = [n for n in net.captured.graph if n.target == "_operator.pow"]
    two_to_x, x_squared = sorted(pows, key=lambda n: n.attrs["tensors"])
    assert two_to_x.attrs["tensors"] == (False, True)  # 2 ** x keeps its exponent x and its result
    assert RULES["pointwise"].saved(two_to_x, two_to_x.out_shape) == Saved(inputs=1, output=True)
    assert RULES["pointwise"].saved(x_squared, x_squared.out_shape) == Saved(inputs=1)  # x ** 2 keeps x
    sqrt = nodes["torch.sqrt"]
    assert RULES["pointwise"].saved(sqrt, sqrt.out_shape) == Saved(inputs=0, output=True)  # d√x = 1 / (2√x)


def test_per_frequency_call_gives_each_operand_its_part():
    """``torch.addcmul(beta, alpha, x)`` on a split map x (6 high channels at 4x4, 2 low at 2x2) with per-channel
    beta, alpha of 8 channels: the high part takes channels 0-5 of both, the low part channels 6-7."""
    from octprof.convert import Operand, PerFrequencyCall

    g = torch.Generator().manual_seed(0)
    h, l = torch.randn(1, 6, 4, 4, generator=g), torch.randn(1, 2, 2, 2, generator=g)
    beta, alpha = torch.randn(1, 8, 1, 1, generator=g), torch.randn(1, 8, 1, 1, generator=g)
    call = PerFrequencyCall(torch.addcmul, (Operand(0), Operand(1), Operand(2)), {"value": 2.0})
    out_h, out_l = call(beta, alpha, (h, l))
    assert torch.equal(out_h, torch.addcmul(beta[:, :6], alpha[:, :6], h, value=2.0))
    assert torch.equal(out_l, torch.addcmul(beta[:, 6:], alpha[:, 6:], l, value=2.0))
    # 2 ** x: the split operand is the second argument; a vanilla tensor that is not per-channel is refused
    assert torch.equal(PerFrequencyCall(pow, (2.0, Operand(0)), {})((h, l))[1], 2.0**l)
    with pytest.raises(ValueError, match="neither a scalar nor per-channel"):
        PerFrequencyCall(torch.addcmul, (Operand(0), Operand(1), Operand(1)), {})((h, l), torch.randn(1, 8, 4, 4))
