"""What planning and pricing remember stays within its scope and changes no result: a spec at another split
equals the one the public constructor builds (errors included), the per-call memo ends with the call, and planning
the same graph twice (or at another α in between) gives the same rows."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from octprof.analysis import Network
from octprof.core import OctConvSpec, OctprofError, layer_cost
from octprof.core.netcost import price
from octprof.core.plan import plan
from octprof.core.rules import memo
from tests.nets import cifar_resnet

BASES = [
    OctConvSpec(64, 64, 3, 56),
    OctConvSpec(16, 16, 3, 8, stride=2, bias=True),
    OctConvSpec(32, 32, 3, 8, groups=32),
    OctConvSpec(24, 48, 3, 8, groups=4),
    OctConvSpec(16, 16, 3, 7, odd_size="ceil"),
    OctConvSpec(16, 16, 3, 7),
    OctConvSpec.nd(16, 16, 3, (4, 8, 8), stride=(1, 2, 2), temporal=True),
    OctConvSpec.nd(16, 16, 3, 64),
]
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, True)
PATHS = (("h2h", "h2l", "l2h", "l2l"), "h2h,l2l", ("h2h", "l2l", "h2l"))


def _outcome(build, *args, **kw):  # type: ignore[no-untyped-def]
    try:
        spec = build(*args, **kw)
    except OctprofError as e:
        return ("error", str(e))
    return ("spec", spec, layer_cost(spec).records())


@pytest.mark.parametrize("base", BASES, ids=range(len(BASES)))
def test_split_at_is_the_public_constructor(base: OctConvSpec) -> None:
    for a_in, a_out, paths in itertools.product(ALPHAS, ALPHAS, PATHS):
        want = _outcome(replace, base, alpha_in=a_in, alpha_out=a_out, paths=paths)
        got = _outcome(base.split_at, a_in, a_out, paths)
        assert got == want, (a_in, a_out, paths)


def test_the_call_memo_ends_with_the_call() -> None:
    net = Network(cifar_resnet(), input_size=32, meta=False)
    a = net.analyze(0.5, prove=False)
    assert memo("shape text") is None and memo("octave spec") is None
    again = price(plan(a.plan.graph, a.plan.options))
    assert memo("shape text") is None
    assert again == price(a.plan)


def test_repeated_and_interleaved_analyses_agree() -> None:
    net = Network(cifar_resnet(), input_size=32, meta=False)
    first = {alpha: net.analyze(alpha, prove=False).rows for alpha in (0.0, 0.25, 0.5)}
    for alpha in (0.5, 0.0, 0.25, 0.5):
        fresh = Network(cifar_resnet(), input_size=32, meta=False).analyze(alpha, prove=False).rows
        assert net.analyze(alpha, prove=False).rows == first[alpha] == fresh
