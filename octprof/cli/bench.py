"""``octprof bench``: measured latency (and where the time goes, and memory) of octave networks next to theory."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from octprof.cli.options import ALPHA_GRID, format_option, handle_errors, output_option
from octprof.core.errors import bad

REPORTS = ("latency", "paths", "memory")


def parse_ints(text: str, name: str) -> list[int]:
    """A comma-separated list of integers (``1,8``)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise bad(name, text, "expected integers such as 1 or 1,8") from None
    if not values:
        raise bad(name, text, "expected at least one integer")
    return values


def check_output(output: str | None) -> None:
    """Fail before a long run when ``--output`` cannot be written."""
    if not output:
        return
    path = os.path.abspath(output)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise bad("--output", output, "is a folder; expected a file name")
    if not os.path.isdir(folder):
        raise bad("--output", output, f"folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise bad("--output", output, f"cannot write to {folder!r}")


def _archs(values: tuple[str, ...]) -> list[str]:
    out = [a.strip() for v in values for a in v.split(",") if a.strip()]
    return out or ["resnet50"]


def _show(df: Any, fmt: str | None, output: str | None, title: str, notes: list[str]) -> None:
    from octprof.core.fmt import render
    from octprof.measure import _records, write_results

    if output:
        write_results(df, output, fmt, title=title, notes=notes)
        click.echo(f"wrote {len(df)} rows to {output}", err=True)
        return
    machine = [f"{k}: {v}" for k, v in df.attrs.get("machine", {}).items()]
    click.echo(
        render(_records(df), fmt or "table", columns=list(df.columns), title=title, notes=[*notes, *machine]), nl=False
    )


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
@click.option("--input-size", type=int, default=None, help="Input height = width (default: the model's).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--dtype", default="float32", show_default=True, help="float32, float16, bfloat16 or float64.")
@click.option(
    "--channels-last/--no-channels-last",
    default=False,
    show_default=True,
    help="Channels-last model and input (much faster pooling and upsampling on CPU).",
)
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
@click.option("--repeats", type=int, default=7, show_default=True, help="Timed rounds (one call per model each).")
@click.option("--warmup", type=int, default=2, show_default=True, help="Untimed calls per model first.")
@click.option(
    "--impl",
    type=click.Choice(["fast", "reference"]),
    default=None,
    help="Octave convolution: FastOctConv2d (fused kernels; the default for eager and compile) or the reference "
    "OctConv2d (the default for exported backends, whose graph optimisers do better on the plain paths).",
)
@click.option("--predict", is_flag=True, help="Add the latency model's predicted_ms (needs 'octprof calibrate').")
@click.option("--profile", "profile_path", default=None, help="Device profile JSON (default: the calibrate one).")
@click.option(
    "--report",
    type=click.Choice(REPORTS),
    default="latency",
    show_default=True,
    help="latency: the sweep; paths: time per path of one α (the first nonzero) next to the cost model; "
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
    input_size: int | None,
    device: str,
    dtype: str,
    channels_last: bool,
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
    from octprof.measure import busy_warning, check_batches, check_device, check_dtype, check_threads

    archs = _archs(arch)
    batches = check_batches(parse_ints(batch, "--batch"))
    dev = check_device(device)
    dt = check_dtype(dtype, dev)
    nthreads = check_threads(threads, dev)
    check_output(output)
    if report == "paths":
        _paths(archs, alpha, batches, input_size, dev, dt, channels_last, nthreads, repeats, fmt, output)
        return
    if report == "memory":
        _memory(archs, alpha, batches, input_size, dev, dt, fmt, output)
        return
    from octprof.backends import check_backend

    if compile_ and backend not in ("eager", "compile"):
        raise bad("--compile", backend, "--compile is the compile backend; give one of them")
    check_backend("compile" if compile_ else backend, dev, dt, mode)
    warning = busy_warning(nthreads)
    if warning:
        click.echo(f"warning: {warning}", err=True)
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
        input_size,
        impl,
        predict,
        profile_path,
        progress=not no_progress,
        backend=backend,
    )
    notes = [
        "median_ms / iqr_ms: per call, over round-robin rounds; speedup: median at alpha 0 / median at alpha "
        "(same run); theory_speedup: macs at alpha 0 / macs at alpha; efficiency = speedup / theory_speedup",
    ]
    if predict:
        from octprof.latency import median_abs_rel_error, spearman

        if len(df) >= 2:
            err = median_abs_rel_error(df["predicted_ms"], df["median_ms"])
            rho = spearman(list(df["predicted_ms"]), list(df["median_ms"]))
            notes.append(f"latency model: median |error| {100 * err:.1f}%, Spearman {rho:.3f}")
    _show(
        df, fmt, output, f"octprof bench ({mode}, {dev}, {str(dt).replace('torch.', '')}, {nthreads} thread(s))", notes
    )
    if df.attrs.get("interrupted"):
        click.echo(f"interrupted: kept the {len(df)} finished rows", err=True)
        sys.exit(130)


def _paths(
    archs: list[str],
    alpha: list[float],
    batches: list[int],
    input_size: int | None,
    dev: Any,
    dt: Any,
    channels_last: bool,
    threads: int,
    repeats: int,
    fmt: str | None,
    output: str | None,
) -> None:
    from octprof.measure import path_times

    a = next((x for x in alpha if x > 0), 0.5)
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
    ]
    _show(df, fmt, output, f"where the time goes: {archs[0]} alpha {a:g} batch {batches[0]}", notes)


def _memory(
    archs: list[str],
    alpha: list[float],
    batches: list[int],
    input_size: int | None,
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
    _show(df, fmt, output, "activation memory", notes)
