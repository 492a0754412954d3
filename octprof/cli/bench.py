"""``octprof bench``: measured latency (and where the time goes, and memory) of octave networks next to theory."""

from __future__ import annotations

import sys
from typing import Any

import click

from octprof.cli.options import (
    ALPHA_GRID,
    busy_notes,
    check_emit,
    emit_results,
    format_option,
    handle_errors,
    memory_format_option,
    output_option,
)
from octprof.core.errors import bad
from octprof.core.inputs import FLOAT_DTYPES, check_int, parse_dtype, parse_input_size, parse_ints

#: Points a rank correlation needs to mean something (below, one swapped pair moves it by 0.5 or more).
MIN_SPEARMAN_POINTS = 5

REPORTS = ("latency", "paths", "memory")


def _archs(values: tuple[str, ...]) -> list[str]:
    out = [a.strip() for v in values for a in v.split(",") if a.strip()]
    return out or ["resnet50"]


@click.command("bench")
@click.option(
    "--arch",
    "-a",
    multiple=True,
    help="Zoo name(s), torchvision:NAME or module:factory; repeat or comma-separate.  Default resnet50.",
)
@click.option(
    "--alpha",
    type=ALPHA_GRID,
    default="0,0.25,0.5,0.75",
    show_default=True,
    help="α grid (α = 0 is always measured: it is the baseline).",
)
@click.option("--batch", "-b", default="1", show_default=True, help="Batch size(s), e.g. 1,8.")
@click.option("--input-size", default=None, help="S or HxW (default: the model's).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", default="float32", show_default=True, help="float32, float16, bfloat16 or float64.")
@memory_format_option
@click.option("--compile", "compile_", is_flag=True, help="torch.compile every model (after _dynamo.reset()).")
@click.option(
    "--backend",
    default="eager",
    show_default=True,
    help="eager, compile, onnxruntime or openvino (exported through torch.onnx; CPU, float32, inference).",
)
@click.option("--threads", type=int, default=None, help="CPU threads (default: torch's current setting).")
@click.option(
    "--mode",
    type=click.Choice(["infer", "train"]),
    default="infer",
    show_default=True,
    help="infer: forward under inference_mode; train: forward + backward + SGD step.",
)
@click.option("--repeats", type=int, default=7, show_default=True, help="Timed rounds (one call per model each), >= 1.")
@click.option("--warmup", type=int, default=2, show_default=True, help="Untimed calls per model first, >= 0.")
@click.option(
    "--impl",
    type=click.Choice(["fast", "reference"]),
    default=None,
    help="Octave convolution: FastOctConv2d (fused kernels; the default for eager and compile) or the reference "
    "OctConv2d (the default for exported backends, whose graph optimisers do better on the plain paths).",
)
@click.option(
    "--predict",
    is_flag=True,
    help="Add the latency model's predicted_ms (needs 'octprof calibrate'); with 5 or more rows, its rank "
    "correlation with the measured times.",
)
@click.option(
    "--profile", "profile_path", default=None, help="With --predict: device profile JSON (default: calibrate's)."
)
@click.option(
    "--report",
    type=click.Choice(REPORTS),
    default="latency",
    show_default=True,
    help="latency: the sweep; paths: time per path at one α (the grid's first nonzero one) next to the cost model; "
    "memory: activation memory per α (closed form and measured).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@format_option
@output_option
@handle_errors
def bench(
    arch: tuple[str, ...],
    alpha: list[float],
    batch: str,
    input_size: str | None,
    device: str,
    dtype: str,
    channels_last: bool | None,
    compile_: bool,
    backend: str,
    threads: int | None,
    mode: str,
    repeats: int,
    warmup: int,
    impl: str | None,
    predict: bool,
    profile_path: str | None,
    report: str,
    no_progress: bool,
    fmt: str | None,
    output: str | None,
) -> None:
    """Measure octave networks: latency over archs × α × batch (median, IQR, throughput, speedup over α = 0 of
    the same run, the closed form's speedup and their ratio), per-path time, or activation memory."""
    from octprof.measure import bench as run_bench
    from octprof.measure import check_batches, check_device, check_dtype, check_threads, default_channels_last

    archs = _archs(arch)
    batches = check_batches(parse_ints(batch, "--batch"))
    size = parse_input_size(input_size, "--input-size")
    check_int(repeats, "--repeats", 1)
    check_int(warmup, "--warmup", 0)
    if profile_path is not None and not predict:
        raise bad("--profile", profile_path, "only with --predict", "the profile is what --predict reads")
    if report != "latency" and predict:
        raise bad("--predict", report, "only with --report latency")
    dev = check_device(device)
    dt = check_dtype(parse_dtype(dtype, "--dtype", FLOAT_DTYPES), dev)
    nthreads = check_threads(threads, dev)
    channels_last = default_channels_last(dev) if channels_last is None else channels_last
    check_emit(output, fmt, "csv", inputs={"--profile": profile_path})
    if predict:
        from octprof.latency import check_profile

        check_profile(profile_path, must_exist=True)  # before anything is built or timed
    if report == "paths":
        _paths(archs, alpha, batches, size, dev, dt, channels_last, nthreads, repeats, fmt, output)
        return
    if report == "memory":
        _memory(archs, alpha, batches, size, dev, dt, fmt, output)
        return
    from octprof.backends import check_backend

    if compile_ and backend not in ("eager", "compile"):
        raise bad("--compile", backend, "--compile is the compile backend; give one of them")
    check_backend("compile" if compile_ else backend, dev, dt, mode)
    busy = busy_notes(nthreads)
    df = run_bench(
        archs,
        alpha,
        batches,
        dev,
        dt,
        channels_last,
        compile_,
        nthreads,
        mode,
        repeats,
        warmup,
        size,
        impl,
        predict,
        profile_path,
        progress=not no_progress,
        backend=backend,
    )
    notes = [
        "median_ms / iqr_ms: per call, over round-robin rounds; speedup: median at alpha 0 / median at alpha "
        "(same run); theory_speedup: macs at alpha 0 / macs at alpha; efficiency = speedup / theory_speedup",
        *busy,
    ]
    if predict:
        notes.append(_prediction_note(df))
    emit_results(
        df, fmt, output, f"octprof bench ({mode}, {dev}, {str(dt).replace('torch.', '')}, {nthreads} thread(s))", notes
    )
    if df.attrs.get("interrupted"):
        click.echo(f"interrupted: kept the {len(df)} finished rows", err=True)
        sys.exit(130)


def _prediction_note(df: Any) -> str:
    """How well the latency model did: its median error, and its rank correlation where there are enough rows."""
    from octprof.latency import median_abs_rel_error, spearman

    if len(df) == 0:
        return "latency model: no rows were measured"
    err = median_abs_rel_error(df["predicted_ms"], df["median_ms"])
    text = f"latency model: median |error| {100 * err:.1f}% over {len(df)} row(s)"
    if len(df) < MIN_SPEARMAN_POINTS:
        return (
            f"{text}; no rank correlation: it needs at least {MIN_SPEARMAN_POINTS} rows (this run has {len(df)}; "
            "add alphas, batches or architectures)"
        )
    rho = spearman(list(df["predicted_ms"]), list(df["median_ms"]))
    return f"{text}, Spearman rank correlation {rho:.3f}"


def _paths(
    archs: list[str],
    alpha: list[float],
    batches: list[int],
    input_size: Any,
    dev: Any,
    dt: Any,
    channels_last: bool,
    threads: int,
    repeats: int,
    fmt: str | None,
    output: str | None,
) -> None:
    from octprof.measure import path_times

    a = next((x for x in alpha if x > 0), None)
    if a is None:
        raise bad(
            "--alpha",
            ",".join(f"{x:g}" for x in alpha),
            "--report paths needs an alpha > 0 (at alpha 0 no layer has octave paths)",
            "e.g. --alpha 0.5",
        )
    busy = busy_notes(threads)
    _, per_path = path_times(archs[0], a, batches[0], input_size, dev, dt, channels_last, threads, repeats)
    df = per_path.copy()
    for col in ("time_share", "macs_share", "act_share"):
        df[col] = (100 * df[col]).round(1)
    df["time_ms"] = df["time_ms"].round(3)
    df.attrs = dict(per_path.attrs)
    notes = [
        "time_ms: profiler time of each path's record_function region per forward (reference OctConv2d); "
        "overhead: layer time outside its paths; other: everything outside convolutions",
        "time_share / macs_share / act_share in percent: measured time next to the closed form's "
        "multiply-accumulates and produced elements",
        *busy,
    ]
    emit_results(df, fmt, output, f"where the time goes: {archs[0]} alpha {a:g} batch {batches[0]}", notes)


def _memory(
    archs: list[str],
    alpha: list[float],
    batches: list[int],
    input_size: Any,
    dev: Any,
    dt: Any,
    fmt: str | None,
    output: str | None,
) -> None:
    import pandas as pd

    from octprof.measure import machine_info
    from octprof.memory import memory_table

    frames = []
    for a in archs:
        for b in batches:
            df = memory_table(a, alpha, b, input_size, dt, measure=True, device=dev, check=True)
            df.insert(0, "arch", a)
            df.insert(1, "batch", b)
            frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    for col in [c for c in df.columns if c.endswith("_ratio")]:
        df[col] = df[col].round(4)
    df.attrs["machine"] = machine_info(dev)
    notes = [
        "fmap_elems: feature-map elements as the vanilla graph has them (Table 1's quantity); act_bytes: every "
        "tensor produced; peak_bytes: most bytes live at once in inference (network input excluded); "
        "saved_bytes: kept for backward in training",
        "measured_peak_bytes: profiler allocation events (CPU) or max_memory_allocated (CUDA), workspaces "
        "included; observed_saved_bytes: storages seen by saved_tensors_hooks",
        "closed_activations / fvcore_activations: outputs of convolutions and linear layers (fvcore's "
        "ActivationCountAnalysis convention)",
    ]
    emit_results(df, fmt, output, "activation memory", notes)
