"""The wild set: every pattern real networks use either prices a network that exists and runs, exactly, or is
refused with a one-line error naming the op.  Zero silent mismatches."""

from __future__ import annotations

import warnings

import pytest
import torch

from octprof.analysis import Network, UnpricedWarning
from octprof.core.errors import OctprofError
from octprof.crosscheck import flop_counter
from tests.wild import WILD

ALPHAS = (0.0, 0.25, 0.5)
_NETS: dict[str, Network] = {}


def _net(name: str) -> Network:
    if name not in _NETS:
        cls, size = WILD[name]
        torch.manual_seed(0)
        _NETS[name] = Network(cls(), input_size=size)
    return _NETS[name]


def _run(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    with torch.no_grad(), flop_counter() as fc:
        out = model(x)
    return out, fc.get_total_flops()


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("name", list(WILD))
def test_wild_priced_network_exists_and_counts_agree(name, alpha):
    net = _net(name)
    try:
        a = net.analyze(alpha)
    except OctprofError as e:  # a refusal is allowed: one line, naming the op
        assert "\n" not in str(e) and "fails" in str(e)
        return
    assert not a.refusals(), a.refusals()  # every rule's promise holds: the plan is right first time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedWarning)
        t = a.total()
    octave = a.octify()
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    out, flops = _run(octave, x)
    assert flops == 2 * t["macs"]
    assert sum(p.numel() for p in octave.parameters()) == t["params"]
    assert t["params"] == sum(p.numel() for p in a.model.parameters())
    if alpha == 0.0:
        assert torch.equal(out, a.model(x))
        assert flops == _run(a.model, x)[1]


def test_wild_patterns_keep_octave_layers():
    """The fallbacks are local: each pattern still leaves octave layers where the net allows them."""
    expected_octave = {
        "channel_slice",
        "split_add",
        "spatial_crop",
        "prelu",
        "layer_scale",
        "spatial_gate",
        "attention",
        "sdpa",
        "sdpa_heads",
        "param_read",
        "transposed_conv",
        "norms",
        "odd_size",
        "unknown_op",
        "fourier_position",
        "halo_blocks",
        "affine_star_relu",
        "outlook",
        "layer_scale_view",
        "sized_upsample",
        "position_embedding",
        "traced_whole",
    }
    for name in expected_octave:
        assert _net(name).analyze(0.5).plan.octave_layers(), name


def test_prelu_parameters_split_and_counted_once():
    a = _net("prelu").analyze(0.5)
    octave = a.octify()
    # PReLU(16) is split 8/8 by channel; PReLU() keeps one shared slope
    prelu = octave.get_submodule("stem.2")
    assert prelu.high.weight.numel() + prelu.low.weight.numel() == 16
    assert a.total()["params"] == sum(p.numel() for p in octave.parameters())


def test_shared_module_kept_vanilla_with_reason():
    a = _net("shared_conv").analyze(0.5)
    assert all(c.mode == "vanilla" for n, c in a.plan.convs.items() if a.plan.graph[n].module == "conv")
    assert any("called 2 times" in why for why in a.plan.reasons.values())


def test_proof_refuses_and_replans(monkeypatch):
    """A rule that promises a split its conversion cannot deliver is caught by the proof, refused, and listed."""
    import octprof.freq as onn

    real = onn._binary

    def broken(op, a, b):  # the per-channel parameter broadcast is gone
        pair = a if isinstance(a, tuple) else b
        other = b if isinstance(a, tuple) else a
        if isinstance(pair, tuple) and isinstance(other, torch.Tensor) and other.numel() > 1:
            raise ValueError("a split map meets a vanilla tensor that is not a scalar")
        return real(op, a, b)

    monkeypatch.setattr(onn, "_binary", broken)
    a = Network(WILD["layer_scale"][0](), input_size=32).analyze(0.5)
    assert a.refusals() and "not a scalar" in a.refusals()[0]["why"]
    octave = a.octify()
    x = torch.randn(a.captured.input_shape)
    _, flops = _run(octave, x)
    assert flops == 2 * a.total()["macs"]


def test_unbuildable_network_is_refused_with_one_line(monkeypatch):
    import octprof.prove as prove

    monkeypatch.setattr(prove, "prove", lambda *a, **k: [prove.Failure("cumprod", "always fails")])
    with pytest.raises(OctprofError) as e:
        Network(WILD["unknown_op"][0](), input_size=32).analyze(0.5)
    assert "cumprod" in str(e.value) and "\n" not in str(e.value)


def test_unpriced_ops_warn_and_are_listed():
    a = _net("unknown_op").analyze(0.5)
    assert a.unpriced_counts() == {"torch.cumprod": 1}
    with pytest.warns(UnpricedWarning, match=r"1 op not priced: torch.cumprod ×1 — totals exclude them"):
        a.total()


def test_generic_pricing_of_matmul_attention_and_transposed_convs():
    """Ops without a rule are priced by what FlopCounterMode counted in the vanilla trace: nothing is zero."""
    for name in ("attention", "sdpa", "transposed_conv"):
        a = _net(name).analyze(0.0)
        df = a.rows_frame()
        unknown = df[df["op"] == "unknown"]
        assert len(unknown) and (unknown["macs"] > 0).all(), name
        assert not a.plan.unpriced, name


def test_sdpa_is_priced_in_closed_form_whatever_the_device():
    """``F.scaled_dot_product_attention`` has a rule of its own: on CPU PyTorch runs a fused kernel that plain
    FlopCounterMode counts 0, on meta the math path it counts as two products; the price is the same on both.
    sdpa_heads at 32x32: the stride-2 conv leaves 16x16 = 256 tokens, 4 heads of 32 / 4 = 8 features; q @ k^T is
    4 * 256 * 256 * 8 = 2,097,152 multiply-adds and softmax(.) @ v as many: 4,194,304 macs."""
    from octprof.core.rules.structure import sdpa_macs

    assert sdpa_macs((1, 4, 256, 8), (1, 4, 256, 8), (1, 4, 256, 8)) == 4 * 256 * 256 * (8 + 8) == 4_194_304
    assert sdpa_macs((2, 8, 10, 16), (2, 2, 12, 16), (2, 2, 12, 4)) == 2 * 8 * 10 * 12 * 20  # grouped-query heads
    cpu = _net("sdpa_heads")
    meta = Network("tests.wild:SDPAHeads", input_size=32)  # traced on the meta device
    assert next(meta._model.parameters()).is_meta
    for alpha in (0.0, 0.5):
        for net in (cpu, meta):
            rows = net.analyze(alpha).rows_frame()
            sdpa = rows[rows["op"] == "sdpa"]
            assert sdpa["macs"].tolist() == [4_194_304] and sdpa["fvcore_flops"].tolist() == [0], alpha
            assert sdpa["paper_flops"].tolist() == [4_194_304]
        want = cpu.analyze(alpha).total()
        assert all(meta.analyze(alpha).total()[k] == want[k] for k in ("macs", "params", "fvcore_flops", "paper_flops"))
    # plain FlopCounterMode misses the fused CPU kernel; octprof's cross-check counts it with torch's own formula
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(cpu.captured.input_shape)
    octave = cpu.analyze(0.5).octify()
    with torch.no_grad(), FlopCounterMode(display=False) as plain:
        octave(x)
    _, flops = _run(octave, x)
    assert flops - plain.get_total_flops() == 2 * 4_194_304
    from octprof.crosscheck import fvcore_count

    assert fvcore_count(octave, (x,))[0] == cpu.analyze(0.5).total()["fvcore_flops"]


def test_defaulted_arguments_are_fixed_and_other_inputs_named():
    """Arguments after the input with a default are traced fixed to it (one input left, no assertion on them); an
    argument without one is named in the refusal."""
    gm = _net("optional_args").captured.gm
    assert [n.name for n in gm.graph.nodes if n.op == "placeholder"] == ["x"]
    assert not [n for n in gm.graph.nodes if "assert" in str(n.target)]

    class TwoInputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x, y):
            return self.conv(x) + y

    with pytest.raises(OctprofError, match=r"exactly one tensor input; forward's argument 'y'") as e:
        Network(TwoInputs(), input_size=8)
    assert "\n" not in str(e.value)


def test_module_whose_parameters_the_graph_reads_stays_vanilla():
    """XCiT reads ``self.token_projection.weight.dtype``: a conv (or batch norm, PReLU) whose parameters a graph node
    reads is kept as it is, with its reason, so the octave network still has the attribute."""
    a = _net("param_read").analyze(0.5)
    convs = {a.plan.graph[n].module: c.mode for n, c in a.plan.convs.items()}
    assert convs["proj"] == convs["conv"] == "vanilla" and convs["tail"] == convs["out"] == "octave"
    assert "the graph reads proj.weight" in a.vanilla_reasons()["proj"]
    assert "parameter read" in a.conv_summary()
    octave = a.octify()
    assert type(octave.get_submodule("proj")).__name__ == "Conv2d"
    x = torch.randn(a.captured.input_shape)
    _, flops = _run(octave, x)
    assert a.unpriced_counts() == {}  # the cast (Tensor.to) has its rule
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpricedWarning)
        assert flops == 2 * a.total()["macs"]


def test_input_channels_declared_by_the_model_win_over_the_first_conv():
    """TResNet's space-to-depth stem: 3 input channels become 12 before the first conv.  The channels the model
    declares (timm's ``pretrained_cfg["input_size"]``, or ``in_chans``) are the input's; without them the first
    conv's guess fails with a hint that names the channels, not the size."""
    from torch import nn

    class SpaceToDepth(nn.Module):
        def __init__(self, declare: bool) -> None:
            super().__init__()
            if declare:
                self.pretrained_cfg = {"input_size": (3, 224, 224)}
            self.conv = nn.Conv2d(12, 16, 3, 1, 1)
            self.out = nn.Conv2d(16, 16, 3, 1, 1)
            self.head = torch.nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))

        def forward(self, x):
            return self.head(self.out(self.conv(F.pixel_unshuffle(x, 2))))

    import torch.nn.functional as F

    a = Network(SpaceToDepth(True), input_size=32).analyze(0.5)
    assert a.captured.input_shape == (1, 3, 32, 32)
    _, flops = _run(a.octify(), torch.randn(a.captured.input_shape))
    assert flops == 2 * a.total()["macs"]
    with pytest.raises(OctprofError, match=r"the input has 12 channels .* input_size \(C, H, W\)") as e:
        Network(SpaceToDepth(False), input_size=32)
    assert "larger input size" not in str(e.value) and "\n" not in str(e.value)
    assert Network(SpaceToDepth(False), input_size=(3, 32, 32)).captured.input_shape == (1, 3, 32, 32)


def test_fused_cpu_lstm_counts_as_on_meta():
    """Sequencer's ``nn.LSTM``: CPU runs the fused ``aten.mkldnn_rnn_layer`` (plain FlopCounterMode: 0), meta the
    decomposed gates (addmm).  ``flop_counter`` counts both alike: bidirectional, In 8, H 16, 5 steps, batch 2:
    2 directions × 5 × 2 × (64·8 + 64·16) = 30,720 macs."""
    lstm = torch.nn.LSTM(8, 16, batch_first=True, bidirectional=True)
    counts = []
    for dev in ("cpu", "meta"):
        with torch.no_grad(), flop_counter() as fc:
            lstm.to(dev)(torch.randn(2, 5, 8, device=dev))
        counts.append(fc.get_total_flops())
    assert counts == [2 * 30_720] * 2


class ConvRecurrent(torch.nn.Module):
    """A CRNN-style head: conv features read as a sequence of 16 tokens by a 2-layer bidirectional recurrent layer."""

    def __init__(self, kind: type) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.mid = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.rnn = kind(16, 24, num_layers=2, batch_first=True, bidirectional=True)

    def forward(self, x):
        y = self.conv2(self.mid(self.conv(x))).flatten(2).transpose(1, 2)
        return self.rnn(y)[0]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_recurrent_layers_are_priced_as_counted_on_every_kernel(kind, alpha):
    """LSTM, GRU and RNN after convs: the totals equal ``flop_counter`` / 2 on the built network (CPU runs the fused
    LSTM kernel, which plain FlopCounterMode counts 0; GRU and RNN run decomposed) and the parameters its module
    tree, the maps merged before the flatten."""
    torch.manual_seed(0)
    model = ConvRecurrent(getattr(torch.nn, kind)).eval()
    a = Network(model, input_size=4).analyze(alpha)
    t = a.total()
    net = a.octify()
    assert not a.plan.unpriced
    assert len(a.plan.octave_layers()) == (2 if alpha else 0)  # mid, and conv2 merging (the stem stays vanilla)
    _, flops = _run(net, torch.randn(a.captured.input_shape))
    assert flops == 2 * t["macs"]
    assert t["params"] == sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in model.parameters())


def test_fused_multi_head_attention_counts_as_decomposed():
    """``nn.MultiheadAttention`` in inference takes the fused ``aten._native_multi_head_attention`` (plain
    FlopCounterMode: 0; torchvision's ViT counted 36 % short).  ``flop_counter`` counts it as the decomposed path:
    batch 2, 7 tokens, E 16, 4 heads: projections 2·7·(3·16² + 16²) = 14,336 macs, q·kᵀ and attn·v 2·2·7·7·16 =
    3,136 macs: 17,472 macs; with gradients on, the decomposed path's projections (addmm) and its attention (the fused
    CPU SDPA) give the same."""
    m = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    q = torch.randn(2, 7, 16)
    with torch.no_grad(), flop_counter() as fast:
        m(q, q, q, need_weights=False)
    with flop_counter() as slow:
        m(q, q, q, need_weights=False)
    assert "aten._native_multi_head_attention" in {str(k) for k in fast.get_flop_counts()["Global"]}
    assert fast.get_total_flops() == slow.get_total_flops() == 2 * 17_472


def test_convs_of_another_dimensionality_are_priced_by_their_rule_and_stay_vanilla():
    """A Conv1d over a flattened row and a Conv3d over a stacked map inside a 2-D network: their own rules price
    them (the maps are not the network's, so they stay vanilla, with the ops around them)."""
    a = _net("conv1d_conv3d").analyze(0.5)
    df = a.rows_frame()
    for kind in ("conv1d", "conv3d"):
        rows = df[df["op"] == kind]
        assert len(rows) == 1 and rows["macs"].iloc[0] > 0 and rows["path"].iloc[0] == "conv", kind
    assert not a.plan.unpriced


def test_subclass_with_its_own_forward_is_not_its_base_op():
    """A conv or batch norm subclass with a forward of its own (timm's ScaledStdConv2d, Conv2dSame) is kept whole
    as an unknown op, priced by what FlopCounterMode counts: never rebuilt as an octave conv or a per-frequency
    batch norm from its parameters (which lost ScaledStdConv2d's gain and standardisation)."""
    a = _net("own_forward").analyze(0.5)
    kinds = {n.module: n.kind for n in a.plan.graph if n.module in ("std", "bn")}
    assert kinds == {"std": "unknown", "bn": "unknown"}
    octave = a.octify()
    assert type(octave.get_submodule("std")).__name__ == "_StdConv"
    assert type(octave.get_submodule("bn")).__name__ == "_ActBN"
    assert a.unpriced_counts() == {"tests.wild._ActBN": 1}  # FlopCounterMode counts nothing for it: listed
    assert a.plan.octave_layers()
    # the summary counts it as a conv kept vanilla, with the reason (stem, std, conv, out, the head's: 5 convs)
    assert a.conv_summary().startswith("2 of 5 convs octave; vanilla:"), a.conv_summary()
    assert "own forward 1" in a.conv_summary()
    assert a.vanilla_reasons()["std"] == "tests.wild._StdConv is a conv2d with a forward of its own"


def test_timm_batchnorm_act_keeps_its_activation_per_frequency():
    """timm's BatchNormAct2d (a BatchNorm2d subclass that runs ``drop`` and ``act`` after the norm) is a batch
    norm whose parts each run its activation: the octave network keeps it."""
    timm_layers = pytest.importorskip("timm.layers")
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, 1, 1)
            self.conv = nn.Conv2d(16, 16, 3, 1, 1)
            self.bn = timm_layers.BatchNormAct2d(16, act_layer=nn.ReLU)
            self.out = nn.Conv2d(16, 16, 3, 1, 1)

        def forward(self, x):
            return self.out(self.bn(self.conv(self.stem(x))))

    torch.manual_seed(0)
    net = Network(Net().eval(), input_size=16)
    a0, a = net.analyze(0.0), net.analyze(0.5)
    assert a.plan.splits[next(n.name for n in a.plan.graph if n.module == "bn")].split
    octave = a.octify().eval()
    bn = a.model.bn.eval()
    h, l = torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8)
    oh, ol = octave.get_submodule("bn")((h, l))
    x = torch.cat([h, torch.nn.functional.interpolate(l, scale_factor=2.0)], 1)
    assert torch.allclose(oh, bn(x)[:, :8]) and (ol >= 0).all() and (ol < 0).sum() == 0
    x = torch.randn(a.captured.input_shape)
    _, flops = _run(octave, x)
    assert flops == 2 * a.total()["macs"]
    assert sum(p.numel() for p in octave.parameters()) == a.total()["params"] == net.param_count
    # priced as a batch norm and then an activation are: the same net with the two as modules of their own
    plain = Net()
    plain.bn = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU())
    twin = Network(plain.eval(), input_size=16)
    for alpha, got in ((0.0, a0), (0.5, a)):
        want, have = twin.analyze(alpha).total(), got.total()
        assert all(want[k] == have[k] for k in ("macs", "params", "paper_flops", "fvcore_flops")), alpha


@pytest.mark.parametrize("alpha", (0.0, 0.5))
@pytest.mark.parametrize("name", list(WILD))
def test_wild_saved_for_backward_is_exact_or_says_it_is_not(name, alpha):
    from octprof.memory import memory_model, observed_saved_bytes

    a = _net(name).analyze(alpha)
    mm = memory_model(a)
    s = mm.summary()
    observed = observed_saved_bytes(a.octify().train(), torch.randn(a.captured.input_shape))
    if s["saved_exact"]:
        assert s["saved_bytes"] == observed
    else:
        assert mm.approximate_ops()


def test_table_lists_unpriced_ops_and_strict_fails():
    from click.testing import CliRunner

    from octprof.cli import main

    args = ["table", "--model", "tests.wild:Unknown", "--input-size", "32", "--alpha", "0.5"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    line = "1 op not priced: torch.cumprod ×1 — totals exclude them"
    assert line in r.stderr  # one line on stderr ...
    assert line in r.stdout  # ... and a note in the output itself
    assert "2 of 3 convs octave" in r.stdout
    json_out = CliRunner().invoke(main, [*args, "--format", "json"])
    assert line in json_out.stderr
    assert "torch.cumprod" in json_out.stdout  # the JSON records carry it too (unpriced_ops)
    r = CliRunner().invoke(main, [*args, "--strict"])
    assert r.exit_code == 1
    assert "--strict: 1 op not priced" in r.output and "Traceback" not in r.output


def test_parallel_sweep_equals_serial():
    from octprof.report import network_table

    serial = network_table(["resnet26", "mobilenet_v1"], [0.0, 0.5], input_size=64)
    parallel = network_table(["resnet26", "mobilenet_v1"], [0.0, 0.5], input_size=64, jobs=2)
    assert serial.equals(parallel)
    assert serial.attrs["conv_summary"] == parallel.attrs["conv_summary"]


def test_gate_says_what_is_not_priced():
    from octprof import gate

    baseline = gate.create(["tests.wild:Unknown"], alphas=[0.5], input_size=32)
    result = gate.check(baseline)
    assert result.passed
    assert result.unpriced == {"torch.cumprod": 1}
    assert "1 op not priced: torch.cumprod ×1 — totals exclude them" in result.summary()


def test_identity_slice_keeps_the_split():
    """GhostNet's ``out[:, :self.out_chs]`` when the concatenation has exactly that many channels: an identity."""
    from torch import nn

    class Ghost(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, 1, 1)
            self.primary = nn.Conv2d(16, 16, 1)
            self.cheap = nn.Conv2d(16, 16, 3, 1, 1, groups=16)
            self.post = nn.Conv2d(32, 8, 3, 1, 1)

        def forward(self, x):
            p = self.primary(torch.relu(self.stem(x)))
            out = torch.cat([p, self.cheap(p)], 1)
            return self.post(out[:, :32])

    a = Network(Ghost(), input_size=16).analyze(0.5)
    node = next(n for n in a.plan.graph if n.target == "_operator.getitem")
    assert node.kind == "dropout" and a.plan.splits[node.name].split
    octave = a.octify()
    x = torch.randn(a.captured.input_shape)
    _, flops = _run(octave, x)
    assert flops == 2 * a.total()["macs"]


@pytest.mark.parametrize("name", list(WILD))
def test_every_vanilla_reason_has_its_category(name):
    """The plan records a category with every reason (no matching of sentences): the summary counts categories."""
    from octprof.core.plan import CATEGORIES

    a = _net(name).analyze(0.5)
    assert set(a.plan.categories) == set(a.plan.reasons)
    assert set(a.plan.categories.values()) <= CATEGORIES
    summary = a.conv_summary()
    for cat, _ in a._vanilla().values():
        assert cat in summary


def test_summary_names_the_category():
    a = _net("shared_conv").analyze(0.5)
    assert "shared module" in a.conv_summary()


@pytest.mark.parametrize(
    "make, size, octave_at_ceil",
    [
        (lambda: WILD["odd_size"][0](), 32, 2),
        (lambda: __import__("torchvision").models.squeezenet1_0(), 224, 25),  # 55 → 27 → 13 pixel maps
        (lambda: __import__("torchvision").models.resnet18(), 225, 19),
    ],
    ids=["odd_size", "squeezenet1_0@224", "resnet18@225"],
)
def test_odd_size_ceil_converts_and_counts_exactly(make, size, octave_at_ceil):
    """``odd_size="ceil"``: odd maps are split (the low part ⌈n/2⌉ per side, ceil-mode pooling, upsampling to the
    exact size); the octave network exists, runs, and FlopCounterMode, fvcore and the parameters agree exactly."""
    torch.manual_seed(0)
    model = make().eval()
    vanilla = Network(model, input_size=size).analyze(0.5)
    a = Network(model, input_size=size, odd_size="ceil").analyze(0.5)
    assert len(a.plan.octave_layers()) == octave_at_ceil >= len(vanilla.plan.octave_layers())
    assert "odd size" in vanilla.conv_summary() and "odd size" not in a.conv_summary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedWarning)
        t = a.total()
    octave = a.octify()
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    _, flops = _run(octave, x)
    assert flops == 2 * t["macs"]
    assert sum(p.numel() for p in octave.parameters()) == t["params"] == sum(p.numel() for p in model.parameters())
    from octprof.crosscheck import fvcore_count

    assert fvcore_count(octave, (x,))[0] == t["fvcore_flops"]


def test_odd_size_is_checked():
    with pytest.raises(OctprofError, match="odd_size"):
        Network(WILD["odd_size"][0](), input_size=32, odd_size="round")


def test_proof_catches_a_conversion_that_builds_other_channels(monkeypatch):
    """The proof's shape-only kernels still see channels: an octave conv built at another α than the plan's gives
    other shapes, and the proof refuses it (naming the shapes) instead of pricing the plan."""
    from octprof.octconv import OctConv2d

    real = OctConv2d.from_conv.__func__

    def wrong(cls, conv, alpha_in, alpha_out, *args, **kw):
        return real(cls, conv, alpha_in, 0.25 if alpha_out == 0.5 else alpha_out, *args, **kw)

    monkeypatch.setattr(OctConv2d, "from_conv", classmethod(wrong))
    a = Network(WILD["layer_scale"][0](), input_size=32).analyze(0.5)
    whys = [r["why"] for r in a.refusals()]
    # e.g. "gives ((1, 12, 32, 32), (1, 4, 16, 16)) where the plan has ((1, 8, 32, 32), (1, 8, 16, 16))"
    assert whys and all("where the plan has" in w for w in whys), whys


def test_layer_scale_views_stay_one_tensor():
    """``gamma.view(1, -1, 1, 1)`` (EfficientFormer) and ``scale.view(C, 1, 1)`` (ConvFormer) are made from a
    parameter alone: the plan keeps them one tensor (the view gives one) while the map they scale stays split."""
    a = _net("layer_scale_view").analyze(0.5)
    g = a.plan.graph
    views = [n for n in g if n.target == "Tensor.view"]
    muls = [n for n in g if n.kind == "mul"]
    assert len(views) == 2 and len(muls) == 2
    assert not any(a.plan.split(n.name).split for n in views)
    assert all(a.plan.splits[n.name].split for n in muls)
    assert len(a.plan.octave_layers()) == 4


def test_upsampling_to_a_size_keeps_each_part_at_its_resolution():
    """GhostNetV2's ``F.interpolate(gate, size=(out.shape[-2], out.shape[-1]))`` and ``nn.Upsample(size=...)`` on
    split maps: each part is scaled by the whole factor, so the low part stays an octave lower."""
    from octprof.freq import oct_merge

    a = _net("sized_upsample").analyze(0.5)
    ups = [n for n in a.plan.graph if n.kind == "upsample"]
    assert len(ups) == 2 and all(a.plan.splits[n.name].split for n in ups)
    octave = a.octify()
    h = torch.randn(1, 8, 16, 16)
    l = torch.randn(1, 8, 8, 8)
    fn = octave.get_submodule(f"_octprof_{next(n.name for n in ups if n.op == 'call_function')}")
    up_h, up_l = fn((h, l))  # the call holds its arguments: size=None, scale_factor=(2.0, 2.0), mode="nearest"
    assert fn.kwargs["size"] is None and fn.kwargs["scale_factor"] == (2.0, 2.0)
    assert up_h.shape == (1, 8, 32, 32) and up_l.shape == (1, 8, 16, 16)
    assert torch.equal(oct_merge((up_h, up_l)), torch.nn.functional.interpolate(oct_merge((h, l)), scale_factor=2.0))
    up = octave.get_submodule("up")
    up_h, up_l = up((h, l))
    assert up_h.shape == (1, 8, 32, 32) and up_l.shape == (1, 8, 16, 16)


def test_full_size_parameter_keeps_its_map_vanilla_at_planning_time():
    """A positional embedding (1, C, H, W) added to a map: the conversion cannot add it part by part, so the plan
    says so itself ("meets a fixed tensor"); the proof has nothing to refuse."""
    a = _net("position_embedding").analyze(0.5)
    add = next(n for n in a.plan.graph if n.kind == "add")
    assert a.plan.categories[add.name] == "meets a fixed tensor"
    assert "not one value per channel" in a.plan.reasons[add.name]
    assert not a.refusals()


def test_output_of_an_op_kept_as_it_is_is_one_tensor():
    """A reshape back to a map, added to a split map: the plan keeps the sum vanilla itself (the reshape gives one
    tensor), where before only the proof found it."""
    a = _net("reshape_back").analyze(0.5)
    add = next(n for n in a.plan.graph if n.kind == "add")
    assert a.plan.categories[add.name] == "meets a merged op"
    assert "gives one tensor" in a.plan.reasons[add.name]
    assert not a.refusals() and a.plan.octave_layers()


def test_per_channel_operand_of_fewer_axes_is_sliced_per_part():
    """MetaFormer's ``x * scale.view(C, 1, 1)``: the operand broadcasts as ``(1, C, 1, 1)``, each part takes its
    channels."""
    from octprof.freq import oct_merge, oct_mul

    h, l = torch.randn(2, 6, 8, 8), torch.randn(2, 2, 4, 4)
    scale = torch.randn(8, 1, 1)
    ph, pl = oct_mul((h, l), scale)
    assert torch.equal(ph, h * scale[:6]) and torch.equal(pl, l * scale[6:])
    assert torch.equal(oct_merge(oct_mul(scale, (h, l))), oct_merge((h, l)) * scale)


@pytest.mark.parametrize("name", list(WILD))
def test_the_proofs_copy_is_the_traced_graph(name):
    """The proof rewrites a copy of the traced graph (made without ``Graph.graph_copy``): node for node the copy
    ``graph_copy`` makes (names, ops, targets, arguments, types, metadata, users), and its table holds the objects
    the targets name."""
    import torch.fx as fx

    from octprof.convert import SharedCopy

    gm = _net(name).captured.gm
    want = fx.Graph()
    want.output(want.graph_copy(gm.graph, {}))
    got = SharedCopy(gm)

    def rows(graph: fx.Graph) -> list[tuple]:
        return [
            (
                n.name,
                n.op,
                n.target,
                str(n.args),
                str(n.kwargs),
                n.type,
                [(k, id(v)) for k, v in n.meta.items()],
                [u.name for u in n.users],
            )
            for n in graph.nodes
        ]

    assert rows(got.graph) == rows(want) and str(got.graph) == str(want)
    for target, obj in got.modules.items():
        expected = gm
        for part in target.split("."):
            expected = getattr(expected, part)
        assert obj is expected, target


def test_modules_forward_never_calls_are_counted_and_kept():
    """An auxiliary head that eval-mode forward never calls (GoogLeNet, Inception v3): its parameters are in the
    total, on a row that names it, and octify() keeps it as it is, so the octave network has every parameter and
    state-dict key of the model: aux = 16·8 + 8 (conv) + 2·8 (norm) + 8·32·32·10 + 10 (linear) = 82,082."""
    a = _net("aux_head").analyze(0.5)
    row = next(r for r in a.rows if r["layer"] == "(parameters no op reads)")
    assert row["params"] == 16 * 8 + 8 + 2 * 8 + 8 * 32 * 32 * 10 + 10 == 82_082
    assert row["note"] == "modules forward never calls (aux); octify() keeps them as they are"
    assert a.captured.unreached == ("aux",)
    net = a.octify()
    assert sum(p.numel() for p in net.parameters()) == a.total()["params"]
    assert {k for k in a.model.state_dict() if k.startswith("aux.")} <= set(net.state_dict())
    assert torch.equal(net.aux[0].weight, a.model.aux[0].weight) and net.aux[0].weight is not a.model.aux[0].weight
    # a module registered under a second name the graph does not use is an alias, not a module never called
    alias = _net("aliased_module").analyze(0.5)
    assert alias.captured.unreached == () and not any(r["layer"] == "(parameters no op reads)" for r in alias.rows)
    assert sum(p.numel() for p in alias.octify().parameters()) == alias.total()["params"]


def _check_built(a) -> None:
    """The built octave network runs: FlopCounterMode / 2 on it equals the total macs, its parameters the total
    params, and at α = 0 its output is bit-identical to the original's."""
    octave = a.octify()
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    out, flops = _run(octave, x)
    assert flops == 2 * a.total()["macs"]
    assert sum(p.numel() for p in octave.parameters()) == a.total()["params"]
    if a.alpha == 0.0:
        assert torch.equal(out, a.model(x))


_WHOLE = "traced whole (data-dependent control flow): blocks.0, blocks.3 — their 4 convs stay vanilla"


@pytest.mark.parametrize("alpha", (0.0, 0.5))
def test_untraceable_submodules_are_traced_whole_exactly(alpha):
    """Blocks that torch.fx cannot trace into (a branch on the map's shape) are traced whole: one opaque op each,
    priced by what FlopCounterMode counted for it; the rest is planned and converted; fvcore agrees too."""
    net = _net("traced_whole")
    assert net.traced_whole() == {"blocks.0": "data-dependent control flow", "blocks.3": "data-dependent control flow"}
    a = net.analyze(alpha)
    assert a.traced_whole() == net.traced_whole() and a.traced_whole_convs() == 4
    summary = a.conv_summary()
    assert summary.endswith(_WHOLE), summary
    octave_n = len(a.plan.octave_layers())
    assert summary.startswith(f"{octave_n} of {len(a.plan.convs) + 4} convs octave")
    assert (octave_n > 0) == (alpha > 0)
    cc = a.crosscheck()
    assert cc["agree"], cc  # FlopCounterMode, fvcore and the parameters on the built octave network
    _check_built(a)
    whole = [r for r in a.rows if r["layer"] in ("blocks.0", "blocks.3") and r["path"] != "merge"]
    assert len(whole) == 2 and all("fvcore: its matrix products and convolutions" in r["note"] for r in whole)


@pytest.mark.parametrize("alpha", (0.0, 0.5))
def test_a_block_whose_traced_graph_cannot_run_is_traced_whole(alpha):
    """torchvision's video Swin: a call in the block changes a list the traced graph holds as an immutable constant,
    so the graph cannot run; the block is traced whole and priced exactly (``auto_leaf=False``: one-line refusal)."""
    from tests.wild import ConstantMutation

    net = _net("constant_mutation")
    assert net.traced_whole() == {"block": "changes a constant argument"}
    a = net.analyze(alpha)
    assert a.conv_summary().endswith("traced whole (changes a constant argument): block — their 1 conv stays vanilla")
    _check_built(a)
    with pytest.raises(OctprofError, match=r"^model: the traced network cannot run at .*_clip_window: .*leaf_modules"):
        Network(ConstantMutation(), input_size=32, auto_leaf=False)


def test_auto_leaf_off_refuses_with_one_line():
    from tests.wild import TracedWhole

    with pytest.raises(OctprofError) as e:
        Network(TracedWhole(), input_size=32, auto_leaf=False)
    msg = str(e.value)
    assert "\n" not in msg
    assert "could not trace TracedWhole inside module 'blocks.0'" in msg
    assert "leaf_modules=[...]" in msg and "auto_leaf=True" in msg


def test_value_dependent_branch_in_a_module_traced_whole_is_refused():
    """A branch on a tensor's value cannot run on fake tensors: its cost is not fixed by the input size."""
    from torch import nn

    class ByValue(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(x) if x.sum() > 0 else x

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.block = ByValue()

        def forward(self, x):
            return self.block(self.stem(x))

    with pytest.raises(OctprofError, match=r"^model: module 'block' was traced whole .*make the branch static$"):
        Network(Net(), input_size=16)


def test_table_says_what_was_traced_whole():
    from click.testing import CliRunner

    from octprof.cli import main

    args = ["table", "--model", "tests.wild:TracedWhole", "--input-size", "32", "--alpha", "0.5"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if "traced whole" in ln]
    assert lines == [f"warning: tests.wild:TracedWhole: {_WHOLE}"], r.stderr
    assert _WHOLE in " ".join(r.stdout.split())  # the conv summary note (wrapped in a text table)
    r = CliRunner().invoke(main, [*args, "--per-layer"])
    assert r.exit_code == 0, r.output
    assert [ln for ln in r.stderr.splitlines() if "traced whole" in ln] == [
        f"warning: tests.wild:TracedWhole: {_WHOLE}"
    ]
    r = CliRunner().invoke(main, [*args, "--no-auto-leaf"])
    assert r.exit_code == 1
    assert "could not trace TracedWhole inside module 'blocks.0'" in r.output and "Traceback" not in r.output


def test_tracing_that_still_fails_after_the_bound_is_refused(monkeypatch):
    import octprof.trace
    from tests.wild import TracedWhole

    monkeypatch.setattr(octprof.trace, "MAX_AUTO_LEAVES", 1)
    with pytest.raises(OctprofError) as e:
        Network(TracedWhole(), input_size=32)
    msg = str(e.value)
    assert "\n" not in msg and "inside module 'blocks.3'" in msg
    assert "octprof traced 1 module whole and tracing still fails" in msg


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("symbolically traced variables cannot be used as inputs to control flow", "data-dependent control flow"),
        ("Proxy object cannot be iterated.", "iterates over a traced value"),
        ("int() argument must be a string, a bytes-like object or a real number, not 'Proxy'",  # NesT
         "a traced value used as a Python number"),
    ],
)  # fmt: skip
def test_why_a_module_is_traced_whole_is_said_briefly(message, reason):
    from octprof.trace import _why_untraceable

    assert _why_untraceable(message) == reason
