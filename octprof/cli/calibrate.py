"""``octprof calibrate``: micro-benchmarks on this device, fitted into a device profile for the latency model."""

from __future__ import annotations

import os

import click

from octprof.cli.options import handle_errors, memory_format_option
from octprof.core.files import check_output
from octprof.core.inputs import FLOAT_DTYPES, check_int, parse_dtype, parse_ints


@click.command("calibrate")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", default="float32", show_default=True, help="float32, float16, bfloat16 or float64.")
@click.option("--threads", default=None, help="CPU thread counts to calibrate, e.g. 1,2 (default: current).")
@memory_format_option
@click.option("--repeats", type=int, default=5, show_default=True, help="Timed rounds per micro-benchmark, >= 1.")
@click.option("--quick", is_flag=True, help="A handful of tiny shapes (seconds; for smoke tests, not for use).")
@click.option(
    "--profile",
    "profile_path",
    default=None,
    help="Device profile JSON to update (default: $OCTPROF_DEVICE_PROFILE or ~/.cache/octprof/device_profile.json).",
)
@click.option(
    "--backend",
    default="eager",
    show_default=True,
    help="eager, onnxruntime or openvino: where the micro-benchmarks run (bench --predict --backend reads it).",
)
@handle_errors
def calibrate(
    device: str,
    dtype: str,
    threads: str | None,
    channels_last: bool | None,
    repeats: int,
    quick: bool,
    profile_path: str | None,
    backend: str,
) -> None:
    """Time convolutions over a grid of generic shapes, memory-bound ops and tiny ops on this device, fit the
    latency model (peak multiply-accumulate rate and small-size efficiency per kind of convolution, memory
    bandwidth, per-kernel overhead) and write it to the device profile, atomically."""
    from octprof.core.fmt import render
    from octprof.latency import calibrate as run_calibrate
    from octprof.latency import check_profile, save_profile

    check_int(repeats, "--repeats", 1)
    counts = parse_ints(threads, "--threads") if threads else None
    dtype = parse_dtype(dtype, "--dtype", FLOAT_DTYPES)
    # the profile is read and rewritten at the end: a bad one must fail now, not after minutes of timing
    path = check_profile(profile_path)
    if profile_path is None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # the default location's folder
    check_output(path, "--profile")
    entries = run_calibrate(
        device,
        dtype,
        counts,
        channels_last,
        quick,
        repeats,
        progress=lambda msg: click.echo(msg, err=True),
        backend=backend,
    )
    save_profile(entries, path)
    rows = []
    for e in entries:
        p = e["params"]
        rows.append(
            {
                "device": e["key"]["device"],
                "dtype": e["key"]["dtype"],
                "threads": e["key"]["threads"],
                "channels_last": e["key"]["channels_last"],
                "backend": e["key"]["backend"],
                "conv_gmacs": round(p["peak_macs"]["conv"] / 1e9, 2),
                "grouped_gmacs": round(p["peak_macs"]["gconv"] / 1e9, 2),
                "depthwise_gmacs": round(p["peak_macs"]["dwconv"] / 1e9, 2),
                "bandwidth_gbs": round(p["bandwidth"] / 1e9, 2),
                "overhead_us": round(1e6 * p["overhead"], 2),
                "fit_median_err_pct": round(100 * e["fit"]["median_abs_rel_error"], 1),
                "samples": e["fit"]["samples"],
            }
        )
    click.echo(
        render(
            rows,
            "table",
            title=f"device profile written to {path}",
            notes=[
                "gmacs: fitted peak multiply-accumulates per second (1e9) before the small-size "
                "efficiency factors; overhead: per kernel"
            ],
        ),
        nl=False,
    )
