"""Property: over random 1-D, 2-D and 3-D specs (groups, depthwise, per-axis strides, path ablations, temporal
octaves, ceil-mode odd sizes), the closed form equals fvcore and FlopCounterMode on the real module, path by
path, and the real module's outputs have the priced shapes.  A modest sweep runs by default; the larger one is
marked slow (500 examples; ``OCTPROF_LAYER_SWEEP=N`` runs N, e.g. 5000 before a release)."""

import itertools
import os

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from octprof.core import PATHS, OctConvSpec, OctprofError, layer_cost
from octprof.crosscheck import _Traceable, flop_counter_count, fvcore_count, layer_inputs
from octprof.nn import octconv_class

ALPHAS = (0.0, 0.125, 0.25, 0.5, 0.75, 1.0)
SUBSETS = [s for n in (2, 3, 4) for s in itertools.combinations(PATHS, n)]


@st.composite
def nd_specs(draw):
    dims = draw(st.sampled_from((1, 2, 3)))
    odd_size = draw(st.sampled_from(("vanilla", "vanilla", "ceil")))
    depthwise = draw(st.integers(0, 4)) == 0
    if depthwise:
        cin = cout = groups = draw(st.integers(2, 12))
        a_in = a_out = draw(st.sampled_from(ALPHAS))
    else:
        groups = draw(st.sampled_from((1, 1, 1, 2, 4)))
        cin = groups * draw(st.integers(1, 6))
        cout = groups * draw(st.integers(1, 6))

        def ok(a, c):
            low = int(a * c)
            return low % groups == 0 and (c - low) % groups == 0

        a_in = draw(st.sampled_from([a for a in ALPHAS if ok(a, cin)]))
        a_out = draw(st.sampled_from([a for a in ALPHAS if ok(a, cout)]))
        if groups > 1 and cin == cout == groups:
            a_out = a_in
    small = dims == 3
    kernels = (1, 3) if small else (1, 3, 5)
    kernel = tuple(draw(st.sampled_from(kernels)) for _ in range(dims))
    if odd_size == "ceil":
        sizes = tuple(draw(st.integers(3, 7 if small else 13)) for _ in range(dims))
    else:
        sizes = tuple(4 * draw(st.integers(1, 2 if small else 4)) for _ in range(dims))
    stride = tuple(draw(st.sampled_from((1, 2))) for _ in range(dims))
    extra = {"temporal": draw(st.booleans())} if dims == 3 else {}
    base = dict(
        alpha_in=a_in,
        alpha_out=a_out,
        stride=stride,
        dilation=1 if small else draw(st.sampled_from((1, 1, 2))),
        groups=groups,
        bias=draw(st.booleans()),
        batch=draw(st.integers(1, 2)),
        stride_rule=draw(st.sampled_from(("pool", "pool", "conv"))),
        odd_size=odd_size,
        **extra,
    )
    paths = draw(st.sampled_from(SUBSETS)) if draw(st.booleans()) else PATHS
    try:
        return OctConvSpec.nd(cin, cout, kernel, sizes, paths=paths, **base)
    except OctprofError as e:
        if not str(e).startswith("paths:"):
            assume(False)  # a geometry no octave layer has (kernel larger than a pooled map)
    return OctConvSpec.nd(cin, cout, kernel, sizes, **base)


def check(spec):
    cost = layer_cost(spec)
    layer = octconv_class(spec.dims).from_spec(spec).eval()
    inputs = layer_inputs(spec)
    wrapped = _Traceable(layer, pair_input=len(inputs) == 2)
    fv_total, fv_mod, _ = fvcore_count(wrapped, inputs)
    fc_total, fc_mod = flop_counter_count(wrapped, inputs)
    for path in PATHS:
        row, module = cost.path(path), getattr(layer, path)
        assert (row is None) == (module is None), path
        assert (path in spec.paths) or module is None
        if row is None:
            continue
        assert row.macs == fv_mod[f"net.{path}"]
        assert 2 * row.macs == fc_mod[f"net.{path}"]
        assert row.params == sum(p.numel() for p in module.parameters())
    assert cost.fvcore_flops == fv_total  # 2-D nearest upsampling included; 1-D / 3-D: fvcore has no handle
    assert 2 * cost.macs == fc_total
    assert cost.params == sum(p.numel() for p in layer.parameters())
    with torch.no_grad():
        out = layer(inputs if len(inputs) == 2 else inputs[0])
    parts = (out, None) if isinstance(out, torch.Tensor) else out
    assert tuple(None if p is None else tuple(p.shape) for p in parts) == cost.output_shapes


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(spec=nd_specs())
def test_nd_closed_form_equals_fvcore_and_flop_counter(spec):
    check(spec)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("OCTPROF_LAYER_SWEEP", "500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=nd_specs())
def test_nd_closed_form_equals_fvcore_and_flop_counter_exhaustive(spec):
    check(spec)
