"""Hand-worked closed forms of one octave layer, and the errors for bad specs."""

import pytest

from octprof.core import OctConvSpec, OctprofError, layer_cost, split_channels


def test_split_is_floor_of_alpha_times_channels():
    assert split_channels(64, 0.5) == (32, 32)
    assert split_channels(7, 0.5) == (4, 3)  # int(3.5) = 3 low
    assert split_channels(10, 0.125) == (9, 1)  # int(1.25) = 1
    assert split_channels(3, 0.25) == (3, 0)  # int(0.75) = 0: no low part
    assert split_channels(5, 1.0) == (0, 5)


def test_hand_worked_stride1_alpha_half():
    # 64 -> 64, 3x3, 56x56, alpha 0.5: high 32 ch @56x56, low 32 ch @28x28.
    c = layer_cost(OctConvSpec(64, 64, 3, 56, alpha_in=0.5, alpha_out=0.5))
    # h2h: 32 * 32 * 9 * 56 * 56 = 28,901,376
    assert c.path("h2h").macs == 32 * 32 * 9 * 56 * 56 == 28_901_376
    # h2l, l2h, l2l at 28x28: 32 * 32 * 9 * 784 = 7,225,344 each
    for p in ("h2l", "l2h", "l2l"):
        assert c.path(p).macs == 7_225_344
    assert c.macs == 28_901_376 + 3 * 7_225_344 == 50_577_408
    # vanilla: 64 * 64 * 9 * 3136 = 115,605,504; ratio 0.4375 = 1 - 3/4 * 0.5 * 1.5 exactly
    assert c.macs * 16 == 115_605_504 * 7
    # fvcore adds the nearest upsampling of l2h: 32 * 56 * 56 = 100,352 outputs
    assert c.fvcore_flops == c.macs + 100_352
    # paper adds the 2x2 pooling of h2l's input: 32 * 28 * 28 * 4 = 100,352
    assert c.paper_flops == c.macs + 100_352
    assert c.params == 64 * 64 * 9
    assert c.output_shapes == ((1, 32, 56, 56), (1, 32, 28, 28))
    assert c.output_elems == 32 * 3136 + 32 * 784


def test_hand_worked_stride2_pools_then_stride1():
    # 16 -> 16, 3x3 stride 2, 8x8, alpha 0.5, bias: high pooled to 4x4, h2l pooled again to 2x2,
    # l2l pools the 4x4 low map to 2x2, l2h convolves the un-pooled 4x4 low map with no upsampling.
    c = layer_cost(OctConvSpec(16, 16, 3, 8, alpha_in=0.5, alpha_out=0.5, stride=2, bias=True))
    assert [r.path for r in c.rows] == ["pool", "h2h", "pool", "h2l", "l2h", "pool", "l2l", "add", "add"]
    assert c.path("h2h").macs == 8 * 8 * 9 * 16  # 9,216
    assert c.path("h2l").macs == 8 * 8 * 9 * 4  # 2,304
    assert c.path("l2h").macs == 8 * 8 * 9 * 16  # 9,216
    assert c.path("l2l").macs == 8 * 8 * 9 * 4  # 2,304
    assert c.fvcore_flops == c.macs  # no upsampling at stride 2
    # bias on h2h (high output) and h2l (low output): 8*16 + 8*4 additions; pools 8*16*4 + 8*4*4 + 8*4*4
    assert c.paper_flops == c.macs + 8 * 16 + 8 * 4 + 4 * (8 * 16 + 8 * 4 + 8 * 4)
    assert c.params == 16 * 16 * 9 + 8 + 8
    assert c.path("h2h").bias and c.path("h2l").bias and not c.path("l2h").bias and not c.path("l2l").bias


def test_depthwise_keeps_only_h2h_and_l2l():
    c = layer_cost(OctConvSpec(32, 32, 3, 8, alpha_in=0.25, alpha_out=0.25, groups=32))
    assert {r.path for r in c.rows} == {"h2h", "l2l"}
    assert c.path("h2h").groups == 24 and c.path("l2l").groups == 8
    assert c.macs == 24 * 9 * 64 + 8 * 9 * 16


def test_alpha_zero_is_vanilla_conv():
    c = layer_cost(OctConvSpec(3, 5, 3, 7, 9, bias=True))
    assert [r.path for r in c.rows] == ["h2h"]
    assert c.macs == 5 * 3 * 9 * 7 * 9 and c.params == 5 * 27 + 5


def test_conv_stride_rule_uses_strided_convs():
    c = layer_cost(OctConvSpec(8, 8, 3, 8, alpha_in=0.5, alpha_out=0.5, stride=2, stride_rule="conv"))
    assert "pool" not in {r.path for r in c.rows}
    assert c.path("h2l").in_shape == (1, 4, 8, 8) and c.path("h2l").out_shape == (1, 4, 2, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha_in=1.5), "alpha_in: got 1.5; expected a number in [0, 1]"),
        (dict(alpha_out=float("nan")), "alpha_out: got nan; expected a number in [0, 1]"),
        (dict(alpha_in=-0.1), "alpha_in: got -0.1"),
        (dict(in_channels=0), "in_channels: got 0; expected an integer >= 1"),
        (dict(out_channels=-3), "out_channels: got -3"),
        (dict(height=0), "height: got 0; expected an integer >= 1"),
        (dict(height=7, alpha_in=0.5), "size: got '7x7'; the high-frequency input is 7x7; a low-frequency input"),
        (dict(height=6, stride=2, alpha_out=0.5), "2x2 average pooling needs even height and width"),
        (dict(stride=3), "stride: got 3; expected 1 or 2"),
        (dict(groups=4, in_channels=12, out_channels=12, alpha_in=0.25, alpha_out=0.25), "path h2h has 9 input"),
        (dict(groups=5), "groups: got 5; expected a divisor of in_channels=16"),
        (dict(kernel_size=0), "kernel_size: got 0"),
        (dict(stride_rule="max"), "stride_rule: got 'max'; expected one of ('pool', 'conv')"),
        (dict(padding=0, alpha_in=0.5, alpha_out=0.5), "the high output's paths disagree"),
    ],
)
def test_bad_specs_name_parameter_value_and_what_is_allowed(kwargs, message):
    base = dict(in_channels=16, out_channels=16, kernel_size=3, height=8)
    with pytest.raises(OctprofError) as e:
        OctConvSpec(**{**base, **kwargs})
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_depthwise_with_different_splits_is_an_error():
    with pytest.raises(OctprofError, match="depthwise layer keeps its input's split"):
        OctConvSpec(16, 16, 3, 8, alpha_in=0.5, alpha_out=0.25, groups=16)
