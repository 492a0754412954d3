"""Whole networks: plan, octify, cross-check exactly, α = 0 equals the original."""

import pytest
import torch

from octprof.analysis import Network
from octprof.core.errors import OctprofError
from tests import nets

HANDWRITTEN = [
    ("cifar_resnet", nets.cifar_resnet, 32),
    ("senet", nets.senet, 32),
    ("unet", nets.unet, 32),
    ("with_unknown_op", nets.with_unknown_op, 16),
]
TORCHVISION = [
    ("resnet50", 64),
    ("resnext50_32x4d", 64),
    ("densenet121", 64),
    ("mobilenet_v2", 64),
    ("mobilenet_v3_small", 64),
    ("efficientnet_b0", 64),
    ("regnet_x_400mf", 64),
    ("shufflenet_v2_x0_5", 64),
]


def _alpha0_equal(net: Network, size: int) -> None:
    model = net.source.create()
    torch.manual_seed(0)
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    net2 = Network(model, size, meta=False)
    oct0 = net2.analyze(0.0).octify()
    x = torch.randn(2, *net2.captured.input_shape[1:])
    with torch.no_grad():
        assert torch.equal(oct0(x), model(x))


@pytest.mark.parametrize("name, factory, size", HANDWRITTEN, ids=[h[0] for h in HANDWRITTEN])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 0.75])
def test_handwritten_crosscheck_exact(name, factory, size, alpha):
    nets.check_exact(Network(factory(), size, meta=False), alpha)


@pytest.mark.parametrize("name, factory, size", HANDWRITTEN, ids=[h[0] for h in HANDWRITTEN])
def test_handwritten_alpha0_equals_original(name, factory, size):
    _alpha0_equal(Network(factory(), size, meta=False), size)


@pytest.mark.parametrize("name, size", TORCHVISION, ids=[t[0] for t in TORCHVISION])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_torchvision_crosscheck_exact(name, size, alpha):
    nets.check_exact(Network(f"torchvision:{name}", size, meta=False), alpha)


@pytest.mark.parametrize("name, size", TORCHVISION[:5], ids=[t[0] for t in TORCHVISION[:5]])
def test_torchvision_alpha0_equals_original(name, size):
    _alpha0_equal(Network(f"torchvision:{name}", size, meta=False), size)


def test_octave_outputs_run_and_keep_shape():
    net = Network(nets.unet(), 32, meta=False)
    oct_ = net.analyze(0.5).octify()
    y = oct_(torch.randn(1, 3, 32, 32))
    assert y.shape == (1, 2, 32, 32)


def test_unet_splits_the_skip_concatenation():
    an = Network(nets.unet(), 32).analyze(0.5)
    cats = [n for n in an.plan.graph if n.kind == "cat"]
    assert cats and all(an.plan.splits[c.name].split for c in cats)
    # a concatenation sums its inputs' parts
    for c in cats:
        lows = sum(an.plan.splits[i].low for i in c.inputs)
        assert an.plan.splits[c.name].low == lows


def test_merge_path_is_listed_and_priced():
    an = Network(nets.with_unknown_op(), 16).analyze(0.5)
    merges = an.merges()
    assert merges and merges[0]["op"] == "shuffle"
    rows = [r for r in an.rows if r["path"] == "merge"]
    assert rows and all(r["fvcore_flops"] > 0 for r in rows)  # the low part's upsampling is priced
    # pixel shuffle and torch.roll have a rule (data movement, zero in every convention): their split inputs are
    # merged, and they are priced, not listed
    assert not an.unpriced()
    assert any(m["target"] == "torch.roll" for m in merges)


def test_se_hidden_layer_is_high_only_and_gate_is_split():
    an = Network(nets.senet(), 32).analyze(0.5)
    fc1 = next(n for n in an.plan.graph if n.module == "se2.fc1")
    fc2 = next(n for n in an.plan.graph if n.module == "se2.fc2")
    assert not an.plan.splits[fc1.name].split
    assert an.plan.splits[fc2.name].split and an.plan.splits[fc2.name].is_vector
    assert an.plan.convs[fc2.name].mode == "vector"


def test_last_octave_conv_before_the_head_goes_vanilla():
    an = Network(nets.cifar_resnet(), 32).analyze(0.5)
    last = [n for n in an.plan.graph if n.kind == "conv2d"][-1]
    assert not an.plan.splits[last.name].split
    assert "feeds" in an.plan.why_vanilla(last.name)


def test_stem_conv_stays_vanilla_and_vanilla_patterns_apply():
    net = Network(nets.cifar_resnet(), 32, vanilla=("layer3.*",))
    an = net.analyze(0.5)
    g = an.plan.graph
    stem = next(n for n in g if n.module == "conv1")
    assert not an.plan.splits[stem.name].split
    for n in g:
        if n.kind == "conv2d" and n.module.startswith("layer3"):
            assert not an.plan.splits[n.name].split
    assert any(an.plan.splits[n.name].split for n in g if n.kind == "conv2d" and n.module.startswith("layer2"))


def test_stride_rule_conv_prices_strided_convs():
    pool = Network(nets.cifar_resnet(), 32).analyze(0.5)
    conv = Network(nets.cifar_resnet(), 32, stride_rule="conv").analyze(0.5)
    assert any(r["path"] == "pool" for r in pool.rows)
    assert not any(r["path"] == "pool" for r in conv.rows)
    assert conv.crosscheck()["agree"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"arch": "resnet5"}, "unknown architecture 'resnet5'"),
        ({"arch": "torchvision:resnet5"}, "no such torchvision classification or video model"),
        ({"arch": "no_such_module_xyz:f"}, "cannot import module 'no_such_module_xyz'"),
        ({"arch": "tests.nets:nothing"}, "has no callable 'nothing'"),
        ({"arch": "tests.nets:cifar_resnet", "input_size": 0}, "every dimension must be a positive integer"),
        ({"arch": "densenet121", "input_size": 8}, "the network fails on it"),
        ({"arch": "resnet50", "vanilla": ("block9.*",)}, "--vanilla: got 'block9.*'; the pattern matches no"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    arch = kwargs.pop("arch")
    with pytest.raises(OctprofError) as e:
        Network(arch, **kwargs).analyze(0.5)
    assert message in str(e.value)


def test_unknown_arch_lists_close_names():
    with pytest.raises(OctprofError, match="Did you mean: resnet50"):
        Network("resnet5")


def test_untraceable_model_says_what_broke():
    class Dynamic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3)

        def forward(self, x):
            if x.sum() > 0:
                return self.conv(x)
            return x

    # at the top level there is no submodule to trace whole: refused, with or without auto_leaf
    with pytest.raises(OctprofError, match=r"torch.fx could not trace Dynamic: .*Hint: .*top level.*static$"):
        Network(Dynamic(), 16)


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.conv3 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.conv4 = torch.nn.Conv2d(8, 4, 1, bias=False)

    def forward(self, x):
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


def test_hand_worked_network_counts():
    an = Network(_Tiny(), 8).analyze(0.5)
    by = {(r["layer"], r["path"]): r["macs"] for r in an.rows if r["op"] == "conv2d"}
    assert by[("conv1", "conv")] == 8 * 3 * 9 * 64  # stem stays vanilla: 13,824
    assert by[("conv2", "h2h")] == 4 * 8 * 9 * 64  # vanilla 8 ch -> 4 high @8x8: 18,432
    assert by[("conv2", "h2l")] == 4 * 8 * 9 * 16  # pooled input -> 4 low @4x4: 4,608
    assert [by[("conv3", p)] for p in ("h2h", "h2l", "l2h", "l2l")] == [9216, 2304, 2304, 2304]
    assert by[("conv4", "h2h")] == 4 * 4 * 64 and by[("conv4", "l2h")] == 4 * 4 * 16  # the output is vanilla
    t = an.total()
    assert t["macs"] == 13_824 + 23_040 + 16_128 + 1_280 == 54_272
    # fvcore adds the nearest upsampling of conv3's and conv4's l2h outputs: 4 channels x 64 pixels each
    assert t["fvcore_flops"] == 54_272 + 256 + 256
    assert an.crosscheck()["agree"]


@pytest.mark.parametrize("arch", ["resnet26", "se_resnet50"])
def test_tiny_inputs_where_maps_shrink_to_vectors(arch):
    # at 32 px the last stage sees 2x2 maps (low part 1x1) and gives 1x1 maps: a strided conv from a split 2x2
    # map to a vanilla 1x1 map is an octave layer, not a conv on split vectors
    net = Network(arch, 32, meta=False)
    an = net.analyze(0.5)
    assert an.crosscheck()["agree"]
    assert an.octify()(torch.randn(1, 3, 32, 32)).shape == (1, 1000)
