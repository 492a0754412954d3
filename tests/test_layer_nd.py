"""1-D and 3-D octave layers, path ablations, ceil-mode odd sizes and input checks: hand-worked closed forms,
the real modules (bitwise at α = 0, per path against fvcore and FlopCounterMode) and one-line errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from octprof.core import OctConvSpec, OctprofError, layer_cost
from octprof.crosscheck import layer_crosscheck, layer_inputs
from octprof.fastconv import FastOctConv2d
from octprof.nn import OctConv1d, OctConv2d, OctConv3d, octconv_class


def _agree(spec):
    recs = layer_crosscheck(spec)
    assert all(r["agree"] for r in recs), recs
    return {r["path"]: r for r in recs}


# -- closed form, worked by hand -------------------------------------------------------------------------------


def test_hand_worked_1d():
    # 16 -> 16, kernel 3, length 1024, alpha 0.5: high 8 ch @1024, low 8 ch @512.
    c = layer_cost(OctConvSpec.nd(16, 16, 3, 1024, alpha_in=0.5, alpha_out=0.5))
    assert c.spec.dims == 1 and c.spec.spatial == (1024,) and c.spec.width is None
    assert c.path("h2h").macs == 8 * 8 * 3 * 1024 == 196_608
    for p in ("h2l", "l2h", "l2l"):
        assert c.path(p).macs == 8 * 8 * 3 * 512 == 98_304
    # vanilla 16*16*3*1024 = 786,432; a 1-D low map is half (not a quarter) of the high one, so the layer costs
    # 1/4 (h2h) + 3 * 1/4 * 1/2 (the low paths) = 5/8 of it: 491,520
    assert c.macs * 8 == 786_432 * 5
    assert c.output_shapes == ((1, 8, 1024), (1, 8, 512))
    # fvcore has no upsample_nearest1d handle: fvcore_flops = macs; paper adds the 2-wide pool: 8 * 512 * 2
    assert c.fvcore_flops == c.macs
    assert c.paper_flops == c.macs + 8 * 512 * 2
    assert c.params == 16 * 16 * 3


def test_hand_worked_3d_time_kept_and_temporal():
    # 64 -> 64, 3x3x3, 8x56x56, alpha 0.5.  Time kept: low maps 8x28x28, every low path 1/4 of h2h's volume.
    kept = layer_cost(OctConvSpec.nd(64, 64, 3, (8, 56, 56), alpha_in=0.5, alpha_out=0.5))
    # h2h: 32 * 32 * 27 * 8*56*56 = 693,633,024; the others 32 * 32 * 27 * 8*28*28 = 173,408,256
    assert kept.path("h2h").macs == 693_633_024
    assert all(kept.path(p).macs == 173_408_256 for p in ("h2l", "l2h", "l2l"))
    assert kept.output_shapes == ((1, 32, 8, 56, 56), (1, 32, 8, 28, 28))
    assert [r.note for r in kept.rows if r.path == "pool"] == ["h2l input, 1x2x2"]
    # temporal: low maps 4x28x28, the low paths 1/8: 32 * 32 * 27 * 4*28*28 = 86,704,128
    temporal = layer_cost(OctConvSpec.nd(64, 64, 3, (8, 56, 56), alpha_in=0.5, alpha_out=0.5, temporal=True))
    assert all(temporal.path(p).macs == 86_704_128 for p in ("h2l", "l2h", "l2l"))
    assert temporal.output_shapes == ((1, 32, 8, 56, 56), (1, 32, 4, 28, 28))
    # vanilla: 64 * 64 * 27 * 25,088 = 2,774,532,096; kept 7/16 of it (like 2-D), temporal 11/32
    vanilla = 2_774_532_096
    assert kept.macs * 16 == vanilla * 7
    assert temporal.macs * 32 == vanilla * 11


def test_3d_stride_per_axis_keeps_time_where_the_stride_does():
    # stride 1x2x2 (time kept), temporal octave: L->H's low map 4x8x8 must reach the high output 8x8x8: it is
    # upsampled 2x1x1 (time only); stride 2x2x2 with time kept: L->H's low map 8x8x8 is pooled 2x1x1 to 4x8x8.
    a = layer_cost(OctConvSpec.nd(16, 16, 3, (8, 16, 16), alpha_in=0.5, alpha_out=0.5, stride=(1, 2, 2), temporal=True))
    up = next(r for r in a.rows if r.path == "upsample")
    assert up.in_shape == (1, 8, 4, 8, 8) and up.out_shape == (1, 8, 8, 8, 8)
    b = layer_cost(OctConvSpec.nd(16, 16, 3, (8, 16, 16), alpha_in=0.5, alpha_out=0.5, stride=2))
    pool = next(r for r in b.rows if r.note.startswith("l2h input"))
    assert pool.in_shape == (1, 8, 8, 8, 8) and pool.out_shape == (1, 8, 4, 8, 8)
    assert b.output_shapes == ((1, 8, 4, 8, 8), (1, 8, 4, 4, 4))
    for spec in (a.spec, b.spec, b.spec.with_(stride_rule="conv")):
        _agree(spec)


def test_paths_ablation_drops_modules_and_cost():
    full = layer_cost(OctConvSpec(16, 16, 3, 8, alpha_in=0.5, alpha_out=0.5))
    c = layer_cost(OctConvSpec(16, 16, 3, 8, alpha_in=0.5, alpha_out=0.5, paths="h2h,l2l"))
    assert c.spec.paths == ("h2h", "l2l")
    assert {r.path for r in c.rows} == {"h2h", "l2l"}  # no pool, upsample or add left
    assert c.macs == full.path("h2h").macs + full.path("l2l").macs == 8 * 8 * 9 * 64 + 8 * 8 * 9 * 16
    m = OctConv2d(16, 16, 3, alpha_in=0.5, alpha_out=0.5, paths=("l2l", "h2h"))
    assert m.h2l is None and m.l2h is None
    assert sum(p.numel() for p in m.parameters()) == c.params == 2 * 8 * 8 * 9
    assert "paths='h2h,l2l'" in repr(m)
    # bias moves to the path that is left: h2l gone, so l2l carries the low output's bias
    b = layer_cost(OctConvSpec(16, 16, 3, 8, alpha_in=0.5, alpha_out=0.5, paths="h2h,l2l", bias=True))
    assert b.path("l2l").bias and b.path("h2h").bias
    # a path the split does not have is simply absent (a network may pass one subset to every layer)
    first = layer_cost(OctConvSpec(16, 16, 3, 8, alpha_in=0.0, alpha_out=0.5, paths="h2h,h2l,l2l"))
    assert {r.path for r in first.rows if r.path in ("h2h", "h2l", "l2h", "l2l")} == {"h2h", "h2l"}
    for spec in (c.spec, b.spec, b.spec.with_(paths="h2l,l2h"), first.spec):
        _agree(spec)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(paths="h2h,h2l"), "paths: got 'h2h,h2l'; the low input (alpha_in=0.5, alpha_out=0.5) is read by no kept"),
        (dict(paths="h2h,l2h"), "the low output (alpha_in=0.5, alpha_out=0.5) is fed by no kept path; keep h2l or l2l"),
        (dict(alpha_in=0.0, paths="h2h,l2l"), "the low output (alpha_in=0.0, alpha_out=0.5) is fed by no kept path"),
        (dict(paths="h2h,x2y"), "paths: got 'h2h,x2y'; expected a non-empty subset of h2h,h2l,l2h,l2l"),
        (dict(paths=""), "paths: got ''; expected a non-empty subset"),
        (dict(odd_size="floor"), "odd_size: got 'floor'; expected one of ('vanilla', 'ceil')"),
        (dict(dims=4), "dims: got 4; expected 1, 2 or 3"),
        (dict(dims=3), "depth: got None; a 3-D map needs its depth"),
        (dict(depth=4), "depth: got 4; only a 3-D map has a depth (dims=2)"),
        (dict(temporal=True), "temporal: got True; only a 3-D map has a time axis"),
        (dict(dims=1, width=8), "width: got 8; a 1-D map has a length only"),
        (dict(kernel_size=(3, 3, 3)), "kernel_size: got (3, 3, 3); expected an integer or a pair of integers"),
        (dict(stride=(1, 3)), "stride: got (1, 3); expected 1 or 2 (or one of them per axis, 2 axes)"),
        (dict(height=7, alpha_in=0.5), "Hint: odd_size='ceil' (--odd-size ceil) pools with ceil mode"),
        (
            dict(dims=3, depth=7, height=8, temporal=True),
            "the high-frequency input is 7x8x8; a low-frequency input (alpha_in=0.5) needs even depth, height",
        ),
        (dict(dims=1, width=None, height=9), "needs an even length"),
    ],
)
def test_bad_nd_specs_are_one_line_errors(kwargs, message):
    base = dict(in_channels=16, out_channels=16, kernel_size=3, height=8, alpha_in=0.5, alpha_out=0.5)
    with pytest.raises(OctprofError) as e:
        OctConvSpec(**{**base, **kwargs})
    assert message in str(e.value)
    assert "\n" not in str(e.value)


# -- odd sizes -------------------------------------------------------------------------------------------------


def test_ceil_mode_prices_odd_sizes_exactly():
    # 55x55 (SqueezeNet), 16 -> 16, alpha 0.5: low maps 28x28 (ceil(55/2)); the l2h output is upsampled to 55x55
    c = layer_cost(OctConvSpec(16, 16, 3, 55, alpha_in=0.5, alpha_out=0.5, odd_size="ceil"))
    assert c.output_shapes == ((1, 8, 55, 55), (1, 8, 28, 28))
    up = next(r for r in c.rows if r.path == "upsample")
    assert up.out_shape == (1, 8, 55, 55) and up.fvcore_flops == 8 * 55 * 55  # fvcore: one per output, 24,200
    pool = next(r for r in c.rows if r.path == "pool")
    # 28x28 windows, the last row and column partial; the paper's convention counts each window whole: 8*784*4
    assert pool.paper_flops == 8 * 28 * 28 * 4 and pool.in_elems == 8 * 55 * 55
    assert c.path("h2h").macs == 8 * 8 * 9 * 55 * 55 and c.path("l2l").macs == 8 * 8 * 9 * 28 * 28
    for spec in (c.spec, c.spec.with_(stride=2), c.spec.with_(stride=2, stride_rule="conv"), c.spec.with_(height=299)):
        _agree(spec)
    with pytest.raises(OctprofError, match="2x2 average pooling needs even height and width"):
        OctConvSpec(16, 16, 3, 55, alpha_out=0.5)  # vanilla stays the default


def test_ceil_mode_pooling_averages_the_elements_a_border_window_covers():
    # odd_size='ceil': the real module's border windows divide by the elements they cover (no padding)
    m = OctConv1d(2, 2, 1, alpha_in=0.0, alpha_out=0.5, odd_size="ceil", bias=False)
    x = torch.arange(10.0).reshape(1, 2, 5)
    pooled = m._pool(x[:, 1:], m.geometry.h2l_pool)
    # channel 1 holds 5..9: windows (5+6)/2, (7+8)/2 and the border window 9/1 (not 9/2)
    assert pooled.tolist() == [[[5.5, 7.5, 9.0]]]
    assert torch.equal(pooled, F.avg_pool1d(x[:, 1:], 2, 2, ceil_mode=True))


def test_ceil_mode_module_output_matches_the_closed_form_3d():
    spec = OctConvSpec.nd(8, 8, 3, (5, 9, 11), alpha_in=0.5, alpha_out=0.25, odd_size="ceil", temporal=True)
    recs = _agree(spec)
    assert recs["total"]["out_elems"] == layer_cost(spec).output_elems


# -- the modules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("groups, bias, stride", [(1, False, 1), (1, True, 2), (4, True, 1), (8, False, 2)])
def test_alpha_zero_equals_conv1d_and_conv3d_bitwise(groups, bias, stride):
    torch.manual_seed(0)
    conv1 = nn.Conv1d(8, 16, 3, stride=stride, padding=1, groups=groups, bias=bias)
    x1 = torch.randn(2, 8, 33)
    o1 = OctConv1d.from_conv(conv1, 0.0, 0.0, stride_rule="conv")
    assert torch.equal(o1(x1), conv1(x1))
    conv3 = nn.Conv3d(8, 16, 3, stride=(1, stride, stride), padding=1, groups=groups, bias=bias)
    x3 = torch.randn(2, 8, 5, 9, 7)
    o3 = OctConv3d.from_conv(conv3, 0.0, 0.0, stride_rule="conv")
    assert torch.equal(o3(x3), conv3(x3))
    if stride == 1:  # the pool rule pools nothing at stride 1
        assert torch.equal(OctConv3d.from_conv(conv3, 0.0, 0.0)(x3), conv3(x3))
    assert o3.h2l is None and o3.l2h is None and o3.l2l is None
    assert isinstance(o3.h2h, nn.Conv3d) and isinstance(o1.h2h, nn.Conv1d)


def test_nd_pairs_in_and_out():
    m = OctConv3d(16, 8, 3, alpha_in=0.5, alpha_out=0.5, temporal=True)
    h, l = m((torch.randn(2, 8, 4, 8, 8), torch.randn(2, 8, 2, 4, 4)))
    assert h.shape == (2, 4, 4, 8, 8) and l.shape == (2, 4, 2, 4, 4)
    m = OctConv1d(8, 16, 5, alpha_out=0.25, stride=2)
    h, l = m(torch.randn(1, 8, 64))
    assert h.shape == (1, 12, 32) and l.shape == (1, 4, 16)
    assert octconv_class(3) is OctConv3d
    with pytest.raises(OctprofError, match="OctConv1d builds 1-D layers"):
        OctConv1d.from_spec(OctConvSpec(8, 8, 3, 8))


@pytest.mark.parametrize(
    "cls, args, x, message",
    [
        (OctConv2d, {}, ((2, 4, 8, 8), (1, 4, 4, 4)), "the high part has batch 2 and the low part batch 1"),
        (OctConv2d, {}, ((1, 4, 8, 8), (1, 4, 8, 8)), "the low part is 8x8; a 8x8 high part needs a 4x4 low part"),
        (OctConv2d, {}, ((1, 4, 7, 7), (1, 4, 4, 4)), "odd along an octave axis; odd_size='vanilla' needs even"),
        (OctConv2d, {"odd_size": "ceil"}, ((1, 4, 7, 7), (1, 4, 3, 3)), "a 7x7 high part needs a 4x4 low part"),
        (OctConv3d, {}, ((1, 4, 4, 8, 8), (1, 4, 2, 4, 4)), "a 4x8x8 high part needs a 4x4x4 low part"),
        (OctConv3d, {}, ((1, 4, 8, 8), (1, 4, 4, 4)), "the high part is a 4-d tensor; OctConv3d expects 5-d"),
        (OctConv1d, {}, ((1, 4, 8, 8), (1, 4, 4, 4)), "OctConv1d expects 3-d (N, C, L)"),
        (OctConv2d, {}, ((1, 3, 8, 8), (1, 4, 4, 4)), "the high part has 3 channels; this layer expects 4"),
    ],
)
def test_forward_checks_batch_and_low_size(cls, args, x, message):
    m = cls(8, 8, 3, alpha_in=0.5, alpha_out=0.5, **args)
    with pytest.raises(OctprofError) as e:
        m(tuple(torch.randn(s) for s in x))
    assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(OctprofError, match="got a 3-d tensor; OctConv2d expects 4-d"):
        OctConv2d(8, 8, 3)(torch.randn(1, 8, 8))
    with pytest.raises(OctprofError, match="odd_size='vanilla' needs even sizes"):
        OctConv2d(8, 8, 3, stride=2)(torch.randn(1, 8, 7, 7))  # the stride pools an odd map


def test_fast_layer_runs_ablations_and_odd_sizes_like_the_reference():
    torch.manual_seed(0)
    cases = [({"paths": "h2h,l2l"}, 8, s) for s in (1, 2)] + [({"paths": "h2l,l2h"}, 8, s) for s in (1, 2)]
    cases += [({"odd_size": "ceil"}, 7, s) for s in (1, 2)] + [({}, 8, (1, 2)), ({}, 8, (2, 1))]
    for kw, size, stride in cases:
        ref = OctConv2d(8, 8, 3, stride, alpha_in=0.5, alpha_out=0.5, bias=True, **kw)
        fast = FastOctConv2d(8, 8, 3, stride, alpha_in=0.5, alpha_out=0.5, bias=True, **kw)
        fast.load_state_dict(ref.state_dict())
        x = (torch.randn(2, 4, size, size), torch.randn(2, 4, (size + 1) // 2, (size + 1) // 2))
        with torch.no_grad():
            assert all(torch.equal(a, b) for a, b in zip(ref(x), fast(x))), (kw, stride)
        assert not fast._fast


def test_layer_inputs_and_crosscheck_handle_a_missing_high_part_in_3d():
    spec = OctConvSpec.nd(8, 8, 3, (4, 8, 8), alpha_in=1.0, alpha_out=0.5, temporal=True)
    (high, low) = layer_inputs(spec)
    assert high.shape == (1, 0, 4, 8, 8) and low.shape == (1, 8, 2, 4, 4)
    _agree(spec)


@pytest.mark.parametrize("stride", [(1, 2), (2, 1)])
@pytest.mark.parametrize("rule", ["pool", "conv"])
def test_2d_stride_per_axis(stride, rule):
    # stride 1 on one axis, 2 on the other: L->H is upsampled along the stride-1 axis only
    spec = OctConvSpec(8, 8, 3, 8, 12, alpha_in=0.5, alpha_out=0.5, stride=stride, stride_rule=rule)
    up = next(r for r in layer_cost(spec).rows if r.path == "upsample")
    assert up.out_shape[2:] == tuple(2 * x if s == 1 else x for x, s in zip(up.in_shape[2:], stride))
    _agree(spec)


def test_per_frequency_helpers_in_1d_and_3d():
    from octprof.nn import FreqBatchNorm2d, oct_cat, oct_merge, oct_mul, oct_split

    x = torch.randn(2, 6, 4, 8, 8)
    h, l = oct_split(x, (4, 2))
    assert h.shape == (2, 4, 4, 8, 8) and l.shape == (2, 2, 4, 4, 4)  # time kept
    assert oct_split(x, (4, 2), temporal=True)[1].shape == (2, 2, 2, 4, 4)
    merged = oct_merge((h, l))
    assert merged.shape == x.shape and torch.equal(merged[:, 4:, :, ::2, ::2], l)
    assert oct_merge(oct_split(x, (4, 2), temporal=True), temporal=True).shape == x.shape
    # odd sizes: ceil-mode split, merge back to the high part's size
    y = torch.randn(1, 4, 7)
    yh, yl = oct_split(y, (2, 2), odd_size="ceil")
    assert yl.shape == (1, 2, 4) and oct_merge((yh, yl)).shape == (1, 4, 7)
    ch, cl = oct_cat([(h, l), torch.randn(2, 1, 4, 8, 8)])
    assert ch.shape == (2, 5, 4, 8, 8) and cl.shape == (2, 2, 4, 4, 4)
    gh, gl = oct_mul((h, l), torch.arange(6.0).reshape(1, 6, 1, 1, 1))  # a per-channel scale, split alike
    assert torch.equal(gl, l * torch.tensor([4.0, 5.0]).reshape(1, 2, 1, 1, 1))
    bn = nn.BatchNorm3d(6).eval()
    fbn = FreqBatchNorm2d.from_bn(bn, (4, 2))
    assert isinstance(fbn.high, nn.BatchNorm3d) and isinstance(fbn.low, nn.BatchNorm3d)
    assert fbn((h, l))[1].shape == l.shape


def test_from_conv_takes_a_stride_per_axis_and_refuses_others():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 3, stride=(1, 2), padding=1)
    x = torch.randn(1, 8, 8, 8)
    assert torch.equal(OctConv2d.from_conv(conv, 0.0, 0.0, "conv")(x), conv(x))
    m = OctConv2d.from_conv(conv, 0.5, 0.5)
    assert m.stride == (1, 2) and m.h2h.stride == (1, 1)  # pooled 1x2 first, then stride-1 paths
    with pytest.raises(OctprofError, match=r"stride: got \(3, 3, 3\); octave layers support stride 1 or 2 on each"):
        OctConv3d.from_conv(nn.Conv3d(8, 8, 3, stride=3), 0.5, 0.5)
    with pytest.raises(OctprofError, match=r"conv: got 'Conv2d'; OctConv3d converts an nn\.Conv3d"):
        OctConv3d.from_conv(conv, 0.5, 0.5)
    with pytest.raises(OctprofError, match="padding: got 'same'"):
        OctConv1d.from_conv(nn.Conv1d(8, 8, 4, padding="same"), 0.5, 0.5)
    o = OctConv1d.from_conv(nn.Conv1d(8, 8, 5, padding="same"), 0.5, 0.5)
    assert o.padding == (2,)


def test_temporal_is_a_3d_option_only():
    with pytest.raises(OctprofError, match=r"temporal: got True; only a 3-D map has a time axis to halve \(dims=2\)"):
        OctConv2d(8, 8, 3, alpha_in=0.5, alpha_out=0.5, temporal=True)
    assert OctConv3d(8, 8, 3, alpha_in=0.5, alpha_out=0.5, temporal=True).spec.octave == (2, 2, 2)
