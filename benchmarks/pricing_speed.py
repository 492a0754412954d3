"""How fast is closed-form pricing, proof included?  (1) the whole zoo x 5 alphas, tracing included, with the proof by
construction (the octave network built and run on the meta device for every alpha) and without it; (2) planning,
proving and pricing a traced network against fvcore counting the octave network it describes, in the same run.

    python benchmarks/pricing_speed.py            # writes benchmarks/results/pricing_speed.json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import warnings

import torch

from octprof.analysis import Network
from octprof.core.fmt import write_atomic
from octprof.crosscheck import fvcore_count
from octprof.zoo import list_models

ALPHAS = (0.0, 0.125, 0.25, 0.5, 0.75)
HERE = os.path.dirname(os.path.abspath(__file__))


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


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
        price_t = []
        for _ in range(5):
            t = time.perf_counter()
            net.analyze(alpha).total()
            price_t.append(time.perf_counter() - t)
        oct_net = net.analyze(alpha).octify()
        x = torch.randn(net.captured.input_shape)
        fv_t = []
        for _ in range(3):
            t = time.perf_counter()
            fvcore_count(oct_net, (x,))
            fv_t.append(time.perf_counter() - t)
        p, f = statistics.median(price_t), statistics.median(fv_t)
        ratios[f"{name}@{alpha}"] = {
            "closed_form_ms": round(1e3 * p, 2),
            "fvcore_ms": round(1e3 * f, 1),
            "ratio": round(f / p, 1),
        }
        print(f"{name} alpha={alpha}: closed form + proof {1e3 * p:.1f} ms, fvcore {1e3 * f:.0f} ms -> {f / p:.0f}x")
    out = {
        "zoo_networks": n,
        "zoo_seconds": round(zoo_s, 2),
        "zoo_seconds_without_proof": round(zoo["unproven"], 2),
        "pricing_vs_fvcore": ratios,
        "machine": machine(),
        "command": "python benchmarks/pricing_speed.py",
    }
    path = os.path.join(HERE, "results", "pricing_speed.json")
    write_atomic(path, json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
