"""Property: over random layer specs, the closed form equals fvcore and FlopCounterMode on the real module."""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octprof.core import OctConvSpec, layer_cost
from octprof.crosscheck import _Traceable, flop_counter_count, fvcore_count, layer_inputs
from octprof.nn import OctConv2d

ALPHAS = (0.0, 0.125, 0.25, 0.3, 0.5, 0.6, 0.75, 0.875, 1.0)


@st.composite
def specs(draw):
    depthwise = draw(st.booleans()) and draw(st.booleans())  # ~1/4 depthwise
    if depthwise:
        c = draw(st.integers(2, 24))
        cin = cout = groups = c
        a_in = draw(st.sampled_from(ALPHAS))
        a_out = a_in
    else:
        groups = draw(st.sampled_from((1, 1, 1, 2, 3, 4)))
        cin = groups * draw(st.integers(1, 8))
        cout = groups * draw(st.integers(1, 8))

        def ok(a, c):
            low = int(a * c)
            return low % groups == 0 and (c - low) % groups == 0

        a_in = draw(st.sampled_from([a for a in ALPHAS if ok(a, cin)]))
        a_out = draw(st.sampled_from([a for a in ALPHAS if ok(a, cout)]))
        if groups > 1 and cin == cout == groups:  # that is a depthwise layer: it keeps its input's split
            a_out = a_in
    k = draw(st.sampled_from((1, 3, 5, 7)))
    kh, kw = (k, k) if draw(st.booleans()) else (k, draw(st.sampled_from((1, 3, 5, 7))))
    return OctConvSpec(
        cin,
        cout,
        (kh, kw),
        height=4 * draw(st.integers(1, 4)),
        width=4 * draw(st.integers(1, 4)),
        alpha_in=a_in,
        alpha_out=a_out,
        stride=draw(st.sampled_from((1, 2))),
        dilation=draw(st.sampled_from((1, 1, 2))),
        groups=groups,
        bias=draw(st.booleans()),
        batch=draw(st.integers(1, 3)),
        stride_rule=draw(st.sampled_from(("pool", "pool", "conv"))),
    )


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs())
def test_closed_form_equals_fvcore_and_flop_counter(spec):
    cost = layer_cost(spec)
    layer = OctConv2d.from_spec(spec).eval()
    inputs = layer_inputs(spec)
    wrapped = _Traceable(layer, pair_input=len(inputs) == 2)
    fv_total, fv_mod, _ = fvcore_count(wrapped, inputs)
    fc_total, fc_mod = flop_counter_count(wrapped, inputs)
    for path in ("h2h", "h2l", "l2h", "l2l"):
        row, module = cost.path(path), getattr(layer, path)
        assert (row is None) == (module is None), path
        if row is None:
            continue
        assert row.macs == fv_mod[f"net.{path}"]
        assert row.macs == fc_mod[f"net.{path}"] // 2 and fc_mod[f"net.{path}"] % 2 == 0
        assert row.params == sum(p.numel() for p in module.parameters())
    assert cost.fvcore_flops == fv_total  # upsampling included
    assert 2 * cost.macs == fc_total
    assert cost.params == sum(p.numel() for p in layer.parameters())
    with torch.no_grad():
        out = layer(inputs if len(inputs) == 2 else inputs[0])
    parts = (out, None) if isinstance(out, torch.Tensor) else out
    assert tuple(None if p is None else tuple(p.shape) for p in parts) == cost.output_shapes
    assert sum(p.numel() for p in parts if p is not None) == cost.output_elems
