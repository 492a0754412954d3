"""Random small 1-D and 3-D networks (property test): whatever the plan makes of them, the octave network it prices
exists and runs, its totals equal FlopCounterMode / 2, fvcore and its module tree exactly, and at α = 0 it computes
exactly what the original computes."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from octprof.analysis import Network
from octprof.core.layer import PATHS

_CONV = {1: nn.Conv1d, 3: nn.Conv3d}
_BN = {1: nn.BatchNorm1d, 3: nn.BatchNorm3d}
_POOL = {1: nn.AdaptiveAvgPool1d, 3: nn.AdaptiveAvgPool3d}


class RandomNet(nn.Module):
    """stem conv → blocks (conv, BN, ReLU; a residual add where the shapes allow, but around the first and the
    last) → global pooling → linear."""

    def __init__(self, dims: int, blocks: list[dict]) -> None:
        super().__init__()
        c = 8
        self.stem = _CONV[dims](2, c, 3, 1, 1)
        self.blocks = nn.ModuleList()
        self.residual = []
        for i, b in enumerate(blocks):
            groups = c if b["depthwise"] else b["groups"]
            cout = c if b["depthwise"] else b["cout"]
            k = b["kernel"] if dims == 1 else (b["kt"], b["kernel"], b["kernel"])
            pad = tuple(x // 2 for x in ((k,) if dims == 1 else k))
            stride = b["stride"] if dims == 1 else (b["st"], b["stride"], b["stride"])
            self.blocks.append(
                nn.Sequential(
                    _CONV[dims](c, cout, k, stride, pad, groups=groups, bias=b["bias"]),
                    _BN[dims](cout),
                    nn.ReLU(),
                )
            )
            # a residual around the first block would join its output to the (vanilla) stem output, around the last
            # to the vanilla head's input: every class would be vanilla
            self.residual.append(0 < i < len(blocks) - 1 and cout == c and stride in (1, (1, 1, 1)))
            c = cout
        self.pool = _POOL[dims](1)
        self.fc = nn.Linear(c, 3)

    def forward(self, x):
        x = self.stem(x)
        for block, res in zip(self.blocks, self.residual):
            x = block(x) + x if res else block(x)
        return self.fc(self.pool(x).flatten(1))


def _block():
    return st.fixed_dictionaries(
        {
            "cout": st.sampled_from([8, 16]),
            "kernel": st.sampled_from([1, 3]),
            "kt": st.sampled_from([1, 3]),
            "stride": st.sampled_from([1, 2]),
            "st": st.sampled_from([1, 2]),
            "groups": st.sampled_from([1, 2]),
            "depthwise": st.booleans(),
            "bias": st.booleans(),
        }
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.sampled_from([1, 3]),
    blocks=st.lists(_block(), min_size=2, max_size=3),
    alpha=st.sampled_from([0.25, 0.5]),
    temporal=st.booleans(),
    paths=st.sampled_from([None, "h2h,l2l", "h2h,h2l,l2l", "h2h,l2h,l2l"]),
)
def test_random_nd_networks_are_priced_exactly(dims, blocks, alpha, temporal, paths):
    torch.manual_seed(0)
    model = RandomNet(dims, blocks).eval()
    size = 32 if dims == 1 else (8, 16, 16)
    net = Network(model, size, meta=False, temporal=temporal and dims == 3, paths=paths)
    an = net.analyze(alpha)
    cc = an.crosscheck()
    assert cc["flop_counter_flops"] == 2 * cc["macs"], cc
    assert cc["fvcore"] == cc["fvcore_flops"], cc
    assert cc["module_params"] == cc["params"], cc
    # the first block's output is split (the last one feeds the vanilla head): something converts, unless halving
    # time too (temporal) leaves an odd size or a depthwise conv (which keeps its input's split) ties them together
    assert an.plan.octave_layers() or (dims == 3 and temporal) or any(b["depthwise"] for b in blocks)
    if paths is not None:  # every fully split layer keeps exactly what it was asked (depthwise: what it has)
        for name in an.plan.octave_layers():
            spec = an.plan.convs[name].spec
            if spec.alpha_in and spec.alpha_out and not spec.depthwise:
                assert spec.paths == tuple(p for p in PATHS if p in paths.split(","))
    oct0 = net.analyze(0.0).octify()
    x = torch.randn(net.captured.input_shape)
    with torch.no_grad():
        assert torch.equal(oct0(x), model(x))
