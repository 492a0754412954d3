"""Activation memory of Oct-ResNets: the closed form next to Table 1, fvcore and measurements.

For each architecture at 224×224, batch 1, float32, α ∈ {0, 0.125, 0.25, 0.5, 0.75}: feature-map elements
(Table 1's quantity) and their ratio next to Table 1's 1 − ¾α; bytes produced, the inference peak of live tensors
and the bytes saved for backward, with the measured CPU peak (profiler allocation events), the saved bytes seen by
autograd's saved-tensor hooks, and fvcore's activation count next to the closed form's.  Writes
``benchmarks/results/memory.csv`` / ``.json``.

    python benchmarks/memory.py          # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd
import torch

from octprof.measure import machine_info, write_results
from octprof.memory import memory_table

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["resnet50", "resnet101", "resnext50_32x4d"])
    p.add_argument("--batch", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(1)
    frames = []
    for arch in args.arch:
        df = memory_table(arch, (0.125, 0.25, 0.5, 0.75), batch=args.batch, measure=True, check=True)
        df.insert(0, "arch", arch)
        df.insert(1, "batch", args.batch)
        frames.append(df)
        print(df.to_string(index=False), file=sys.stderr)
    out = pd.concat(frames, ignore_index=True)
    for col in [c for c in out.columns if c.endswith("_ratio")]:
        out[col] = out[col].round(4)
    out["measured_over_model_peak"] = (out["measured_peak_bytes"] / out["peak_bytes"]).round(3)
    out["saved_agree"] = out["saved_bytes"] == out["observed_saved_bytes"]
    out["activations_agree"] = out["closed_activations"] == out["fvcore_activations"]
    out.attrs["machine"] = machine_info("cpu", 1)
    notes = [
        f"command: python benchmarks/memory.py --batch {args.batch}",
        "fmap_ratio: feature maps (Table 1's quantity) relative to alpha 0, next to "
        "table1_memory_ratio = 1 - 3/4 alpha",
        "peak_bytes: most bytes live at once in inference (closed form); measured_peak_bytes: CPU profiler "
        "allocation events, kernel workspaces included",
        "saved_bytes: closed form; observed_saved_bytes: saved_tensors_hooks on the real network (training mode)",
        "closed_activations / fvcore_activations: conv and linear outputs (fvcore ActivationCountAnalysis)",
    ]
    for ext in ("csv", "json"):
        write_results(out, os.path.join(RESULTS, f"memory.{ext}"), notes=notes)
    print(f"wrote {RESULTS}/memory.csv and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
