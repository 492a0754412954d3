"""Where the time goes: per-path time of Oct-ResNet-50 next to the cost model, and fused vs reference layers.

1. ``path_times``: the profiler time of every path and glue op of every octave layer (reference OctConv2d, each
   piece in its own ``record_function`` region), summed per path, and the same for the vanilla network (α = 0:
   convolutions and everything else), next to the closed form's share of the
   multiply-accumulates (``benchmarks/results/paths_b<batch>.csv`` / ``.json``, ``paths_layers_b<batch>.csv``).
2. FastOctConv2d against the reference OctConv2d on the whole network, channels-last and NCHW, round-robin in one
   run (``benchmarks/results/fastconv_b<batch>.csv`` / ``.json``).

    python benchmarks/paths.py                            # batch 1, one thread: about 20 s on 2 cores
    python benchmarks/paths.py --batch 8 --threads 2      # about a minute
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd
import torch

from octprof.analysis import Network
from octprof.measure import build_model, machine_info, make_input, path_times, time_round_robin, write_results

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def fast_vs_reference(arch: str, alpha: float, batch: int, threads: int, repeats: int) -> pd.DataFrame:
    net = Network(arch, batch=batch)
    a = net.analyze(alpha)
    rows = []
    for channels_last in (True, False):
        x = make_input(net.captured.input_shape, batch, torch.device("cpu"), torch.float32, channels_last)
        fns = {}
        for impl in ("reference", "fast"):
            model = build_model(a, channels_last=channels_last, impl=impl)
            fns[impl] = lambda m=model, x=x: _run(m, x)
        t = time_round_robin(fns, threads=threads, repeats=repeats)
        for impl in ("reference", "fast"):
            rows.append(
                {
                    "arch": arch,
                    "alpha": alpha,
                    "batch": batch,
                    "threads": threads,
                    "layout": "channels_last" if channels_last else "nchw",
                    "impl": impl,
                    "median_ms": round(t[impl].median, 3),
                    "iqr_ms": round(t[impl].iqr, 3),
                    "speedup_over_reference": round(t["reference"].median / t[impl].median, 4),
                }
            )
    return pd.DataFrame(rows)


def _run(model: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.inference_mode():
        model(x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet50")
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    per_layer, per_path = path_times(
        args.arch, args.alpha, args.batch, channels_last=True, threads=args.threads, repeats=args.repeats
    )
    _, vanilla = path_times(args.arch, 0.0, args.batch, channels_last=True, threads=args.threads, repeats=args.repeats)
    machine = per_path.attrs["machine"]
    per_path = pd.concat([per_path.assign(alpha=args.alpha), vanilla.assign(alpha=0.0)], ignore_index=True)
    per_path.attrs["machine"] = machine
    notes = [
        f"command: python benchmarks/paths.py --arch {args.arch} --alpha {args.alpha} --batch {args.batch} "
        f"--threads {args.threads}",
        "time_ms per forward (profiler regions, reference OctConv2d, channels-last); macs_share: closed form",
    ]
    write_results(per_layer, os.path.join(RESULTS, f"paths_layers_b{args.batch}.csv"), notes=notes)
    for ext in ("csv", "json"):
        write_results(per_path, os.path.join(RESULTS, f"paths_b{args.batch}.{ext}"), notes=notes)
    print(per_path.to_string(index=False), file=sys.stderr)
    df = fast_vs_reference(args.arch, args.alpha, args.batch, args.threads, args.repeats)
    df.attrs["machine"] = machine_info("cpu", args.threads)
    notes = [f"command: python benchmarks/paths.py (fast vs reference, {args.arch} alpha {args.alpha})"]
    for ext in ("csv", "json"):
        write_results(df, os.path.join(RESULTS, f"fastconv_b{args.batch}.{ext}"), notes=notes)
    print(df.to_string(index=False), file=sys.stderr)


if __name__ == "__main__":
    main()
