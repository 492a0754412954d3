"""OctConv2d: the module the closed form describes."""

import pytest
import torch
from torch import nn

from octprof.nn import FreqBatchNorm2d, OctConv2d, oct_cat, oct_merge


@pytest.mark.parametrize("groups, bias", [(1, False), (1, True), (4, True), (8, False)])
def test_alpha_zero_equals_conv2d_bitwise(groups, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1, groups=groups, bias=bias)
    oct_ = OctConv2d.from_conv(conv, 0.0, 0.0)
    x = torch.randn(2, 8, 9, 11)
    assert torch.equal(oct_(x), conv(x))
    assert oct_.h2l is None and oct_.l2h is None and oct_.l2l is None


def test_pair_in_pair_out_and_tensor_out_at_alpha_out_zero():
    m = OctConv2d(16, 8, 3, alpha_in=0.5, alpha_out=0.0)
    y = m((torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)))
    assert isinstance(y, torch.Tensor) and y.shape == (1, 8, 8, 8)
    m = OctConv2d(8, 16, 3, alpha_in=0.0, alpha_out=0.25)
    h, l = m(torch.randn(1, 8, 8, 8))
    assert h.shape == (1, 12, 8, 8) and l.shape == (1, 4, 4, 4)


def test_gradients_reach_every_path():
    m = OctConv2d(8, 8, 3, stride=2, bias=True, alpha_in=0.5, alpha_out=0.5)
    h, l = m((torch.randn(2, 4, 8, 8, requires_grad=True), torch.randn(2, 4, 4, 4)))
    (h.square().sum() + l.square().sum()).backward()
    for name in ("h2h", "h2l", "l2h", "l2l"):
        grad = getattr(m, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_wrong_input_channels_is_a_clear_error():
    m = OctConv2d(8, 8, 3, alpha_in=0.5, alpha_out=0.5)
    with pytest.raises(ValueError, match="the high part has 8 channels; this layer expects 4"):
        m((torch.randn(1, 8, 8, 8), torch.randn(1, 4, 4, 4)))


def test_merge_and_cat_and_bn_per_frequency():
    h, l = torch.randn(1, 3, 4, 4), torch.randn(1, 2, 2, 2)
    merged = oct_merge((h, l))
    assert merged.shape == (1, 5, 4, 4) and torch.equal(merged[:, 3:, ::2, ::2], l)
    ch, cl = oct_cat([(h, l), torch.randn(1, 1, 4, 4)])
    assert ch.shape == (1, 4, 4, 4) and cl.shape == (1, 2, 2, 2)
    bn = nn.BatchNorm2d(5).eval()
    bn.running_mean.uniform_()
    fbn = FreqBatchNorm2d.from_bn(bn, (3, 2)).eval()
    yh, yl = fbn((h, l))
    assert torch.allclose(yh, bn(torch.cat([h, torch.zeros(1, 2, 4, 4)], 1))[:, :3])
