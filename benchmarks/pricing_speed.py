"""How fast is closed-form pricing, proof included?  (1) the whole zoo x 5 alphas, tracing included, with the proof by
construction (the octave network built and run on the meta device for every alpha) and without it; (2) planning,
proving and pricing a traced network against fvcore counting the octave network it describes, in the same run,
with its parts (planning + pricing, the proof) and a floor: the time PyTorch's own constructors take to build the
child convolutions of the network's distinct octave layers on the meta device, initialisation skipped -- the least
any proof that builds the real octave network must spend, before it runs anything.

Every timed call is a cold point: nothing computed for one alpha survives to the next call (octprof keeps only
what the traced graph alone decides), so repeating one alpha times what a new alpha costs.

    python benchmarks/pricing_speed.py            # writes benchmarks/results/pricing_speed.json
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings

import torch

from octprof.analysis import Network
from octprof.core.fmt import write_atomic
from octprof.core.layer import conv_paths
from octprof.crosscheck import fvcore_count
from octprof.machine import machine_info
from octprof.zoo import list_models

ALPHAS = (0.0, 0.125, 0.25, 0.5, 0.75)
HERE = os.path.dirname(os.path.abspath(__file__))


def median_ms(fn, n: int = 7) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def construction_floor(analysis) -> tuple[int, int, float]:
    """(distinct octave layers, their child convs, ms to construct those convs with PyTorch's constructors on the
    meta device, initialisation skipped): a lower bound of building the octave network, as the proof does."""
    from torch import nn

    from octprof.prove import no_init

    specs = {}
    for cp in analysis.plan.convs.values():
        if cp.mode == "octave" and cp.spec is not None:
            s = cp.spec
            specs[(s.in_channels, s.out_channels, s.kernel_size, s.stride, s.padding, s.groups, s.bias, s.in_split,
                   s.out_split, s.dims, s.dilation, s.paths)] = s  # fmt: skip
    cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
    children = [(cls[s.dims], s, c) for s in specs.values() for c in conv_paths(s).values()]

    def build() -> None:
        for kind, s, (cin, cout, g, b) in children:
            kind(cin, cout, s.kernel_size, 1, s.padding, s.dilation, g, b, device="meta")

    with no_init():
        ms = median_ms(build)
    return len(specs), len(children), ms


def main() -> None:
    warnings.simplefilter("ignore")
    # (1) the whole zoo x 5 alphas: build on meta, trace, plan and price
    Network("resnet26")  # first-use costs (imports, fake-tensor warm-up) are not the zoo's
    zoo: dict[str, float] = {}
    n = 0
    for prove in (True, False):
        t0 = time.perf_counter()
        n = 0
        for name in list_models():
            net = Network(name)
            for a in ALPHAS:
                net.analyze(a, prove=prove).total()
                n += 1
        zoo["proven" if prove else "unproven"] = time.perf_counter() - t0
        print(
            f"zoo x {len(ALPHAS)} alphas, {'with' if prove else 'without'} the proof: {n} networks in "
            f"{zoo['proven' if prove else 'unproven']:.2f} s (tracing included)"
        )
    zoo_s = zoo["proven"]

    # (2) closed-form pricing vs fvcore counting the octave network, same run
    ratios = {}
    for name, alpha in (("resnet50", 0.5), ("mobilenet_v2", 0.5), ("densenet121", 0.5)):
        net = Network(name, meta=False)
        a = net.analyze(alpha)
        p = median_ms(lambda net=net, alpha=alpha: net.analyze(alpha).total())
        unproven = median_ms(lambda net=net, alpha=alpha: net.analyze(alpha, prove=False).total())
        layers, children, floor = construction_floor(a)
        build = median_ms(lambda a=a: a.octify(), n=3)  # the octave network with real weights, as a user builds it
        oct_net = a.octify()
        x = torch.randn(net.captured.input_shape)
        f = median_ms(lambda oct_net=oct_net, x=x: fvcore_count(oct_net, (x,)), n=3)
        ratios[f"{name}@{alpha}"] = {
            "closed_form_ms": round(p, 2),
            "plan_and_price_ms": round(unproven, 2),
            "proof_ms": round(p - unproven, 2),
            "fvcore_ms": round(f, 1),
            "ratio": round(f / p, 1),
            "distinct_octave_layers": layers,
            "their_child_convs": children,
            "construction_floor_ms": round(floor, 2),
            "fvcore_over_floor": round(f / floor, 1),
            "octify_real_ms": round(build, 1),
            "octify_and_fvcore_ratio": round((build + f) / p, 1),
        }
        print(
            f"{name} alpha={alpha}: closed form + proof {p:.1f} ms (plan + price {unproven:.1f}, proof "
            f"{p - unproven:.1f}), fvcore {f:.0f} ms -> {f / p:.0f}x; constructing the {children} child convs of "
            f"its {layers} distinct octave layers alone: {floor:.1f} ms = fvcore / {f / floor:.0f}; building the "
            f"octave network with real weights first, as fvcore needs: {build:.0f} ms more -> {(build + f) / p:.0f}x"
        )
    out = {
        "zoo_networks": n,
        "zoo_seconds": round(zoo_s, 2),
        "zoo_seconds_without_proof": round(zoo["unproven"], 2),
        "pricing_vs_fvcore": ratios,
        "machine": machine_info(),
        "command": "python benchmarks/pricing_speed.py",
    }
    path = os.path.join(HERE, "results", "pricing_speed.json")
    write_atomic(path, json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
