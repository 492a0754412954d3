"""How good is the latency model?  Calibrate on this machine, predict the latency grid, compare with measurements.

Calibrates channels-last float32 kernels for 1 thread and all threads (``octprof calibrate``; the device profile
goes to ``benchmarks/results/device_profile.json``), predicts every point of the grid of ``benchmarks/latency.py``
and compares with the measured medians of ``benchmarks/results/latency.csv`` (run that first; with
``--measure`` the grid is measured here instead).  Writes ``benchmarks/results/latency_model.csv`` / ``.json``
with the median absolute relative error and Spearman's rank correlation.

    python benchmarks/latency_model.py
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

from octprof.analysis import Network
from octprof.latency import calibrate, load_profile, median_abs_rel_error, save_profile, spearman
from octprof.measure import machine_info, write_results

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def measured(path: str, remeasure: bool) -> pd.DataFrame:
    if remeasure or not os.path.exists(path):
        sys.path.insert(0, HERE)
        from latency import run

        return run()
    return pd.read_csv(path, comment="#")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--measure", action="store_true", help="measure the grid here instead of reading latency.csv")
    p.add_argument("--repeats", type=int, default=5, help="rounds per micro-benchmark")
    args = p.parse_args()
    meas = measured(os.path.join(RESULTS, "latency.csv"), args.measure)
    threads = sorted({int(t) for t in meas["threads"]})
    profile = os.path.join(RESULTS, "device_profile.json")
    entries = calibrate(
        "cpu",
        "float32",
        threads,
        channels_last=True,
        repeats=args.repeats,
        progress=lambda m: print(m, file=sys.stderr),
    )
    save_profile(entries, profile)
    for e in entries:
        print(
            f"threads {e['key']['threads']}: fit median |error| {100 * e['fit']['median_abs_rel_error']:.1f}% "
            f"over {e['fit']['samples']} micro-benchmarks",
            file=sys.stderr,
        )
    rows = []
    nets: dict[tuple[str, int], Network] = {}
    for r in meas.itertuples():
        key = (r.arch, int(r.batch))
        if key not in nets:
            nets[key] = Network(r.arch, batch=int(r.batch))
        model = load_profile(profile, "cpu", "float32", int(r.threads), channels_last=True)
        pred = model.predict(nets[key].analyze(float(r.alpha)), impl="fast")
        rows.append(
            {
                "arch": r.arch,
                "alpha": r.alpha,
                "batch": r.batch,
                "threads": r.threads,
                "measured_ms": r.median_ms,
                "predicted_ms": round(pred, 3),
                "rel_error": round((pred - r.median_ms) / r.median_ms, 4),
                "measured_speedup": r.speedup,
                "predicted_speedup": None,
            }
        )
    df = pd.DataFrame(rows)
    for _, g in df.groupby(["arch", "batch"], sort=False):
        base = g.loc[g["alpha"] == 0.0, "predicted_ms"].item()
        df.loc[g.index, "predicted_speedup"] = (base / g["predicted_ms"]).round(4)
    mae = median_abs_rel_error(df["predicted_ms"], df["measured_ms"])
    rho = spearman(list(df["predicted_ms"]), list(df["measured_ms"]))
    rho_speed = spearman(list(df["predicted_speedup"].astype(float)), list(df["measured_speedup"]))
    summary = (
        f"median |relative error| {100 * mae:.1f}% over {len(df)} points; Spearman (latency) {rho:.3f}; "
        f"Spearman (speedup) {rho_speed:.3f}"
    )
    print(summary, file=sys.stderr)
    df.attrs["machine"] = {**machine_info("cpu"), "threads": ", ".join(map(str, threads))}
    notes = [
        "command: python benchmarks/latency.py && python benchmarks/latency_model.py",
        summary,
        "fit: "
        + "; ".join(
            f"threads {e['key']['threads']}: median |error| "
            f"{100 * e['fit']['median_abs_rel_error']:.1f}% over {e['fit']['samples']} "
            f"micro-benchmarks"
            for e in entries
        ),
    ]
    for ext in ("csv", "json"):
        write_results(df, os.path.join(RESULTS, f"latency_model.{ext}"), notes=notes)
    print(df.to_string(index=False), file=sys.stderr)


if __name__ == "__main__":
    main()
