"""Latency of Oct-ResNets on this machine: measured speedup over α = 0 next to the closed form.

The grid: ResNet-50 at batch 1 on one thread and at batch 8 on all threads, ResNet-101 and ResNeXt-50 (32×4d) at
batch 8 on all threads, each at α ∈ {0, 0.25, 0.5, 0.75}, float32, channels-last, FastOctConv2d.  Writes
``benchmarks/results/latency[_compiled].csv`` and ``.json`` (with the machine description).

    python benchmarks/latency.py                # eager (about 2-3 minutes on 2 cores)
    python benchmarks/latency.py --compile      # torch.compile every model (compiling takes 10+ minutes)
    python benchmarks/latency.py --backend onnxruntime   # exported through torch.onnx (pip install 'octprof[onnx]')
    python benchmarks/latency.py --backend openvino      # (pip install 'octprof[openvino]')
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd
import torch

from octprof.measure import bench, write_results

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
ALPHAS = (0.0, 0.25, 0.5, 0.75)


def grid(all_threads: int) -> list[tuple[str, int, int]]:
    """(arch, batch, threads) of the issue's grid."""
    return [
        ("resnet50", 1, 1),
        ("resnet50", 8, all_threads),
        ("resnet101", 8, all_threads),
        ("resnext50_32x4d", 8, all_threads),
    ]


def run(
    compile: bool = False,
    repeats: int = 7,
    channels_last: bool = True,
    impl: str | None = None,
    backend: str = "eager",
) -> pd.DataFrame:
    all_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    frames = []
    machine: dict = {}
    for arch, batch, threads in grid(all_threads):
        t0 = time.time()
        df = bench(
            arch,
            ALPHAS,
            batch,
            channels_last=channels_last,
            compile=compile,
            threads=threads,
            repeats=repeats,
            impl=impl,
            progress=sys.stderr.isatty(),
            backend=backend,
        )
        machine = df.attrs["machine"]
        frames.append(df)
        print(f"{arch} batch {batch} threads {threads}: {time.time() - t0:.0f} s", file=sys.stderr)
        print(
            df[
                ["arch", "alpha", "batch", "threads", "median_ms", "iqr_ms", "speedup", "theory_speedup", "efficiency"]
            ].to_string(index=False),
            file=sys.stderr,
        )
    out = pd.concat(frames, ignore_index=True)
    out.attrs["machine"] = {**machine, "threads": f"1 and {all_threads} (see rows)"}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compile", action="store_true", help="torch.compile every model")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--nchw", action="store_true", help="NCHW instead of channels-last")
    p.add_argument("--impl", choices=["fast", "reference"], default=None, help="default: fast; reference if exported")
    p.add_argument("--backend", choices=["eager", "onnxruntime", "openvino"], default="eager")
    args = p.parse_args()
    df = run(args.compile, args.repeats, not args.nchw, args.impl, args.backend)
    name = (
        "latency"
        + ("_compiled" if args.compile else "")
        + ("_nchw" if args.nchw else "")
        + ("_reference" if args.impl == "reference" and args.backend == "eager" else "")
        + (f"_{args.backend}" if args.backend != "eager" else "")
    )
    notes = [
        f"command: python benchmarks/latency.py{' --compile' if args.compile else ''}"
        f"{' --nchw' if args.nchw else ''}{' --impl reference' if args.impl == 'reference' else ''}"
        f"{f' --backend {args.backend}' if args.backend != 'eager' else ''}",
        "speedup: median at alpha 0 / median at alpha, same run, round-robin rounds; theory_speedup: macs ratio",
    ]
    for ext in ("csv", "json"):
        write_results(df, os.path.join(RESULTS, f"{name}.{ext}"), notes=notes)
    print(f"wrote {RESULTS}/{name}.csv and .json", file=sys.stderr)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
