"""Does the saving hold up?  :func:`bench` times octave networks next to the closed form, and writes its reports.

:func:`bench` times vanilla and octave networks over a grid of architectures × α × batch sizes and reports the
median and IQR, throughput, the measured speedup over α = 0 *of the same run*, the closed form's speedup (``macs``
at α = 0 / ``macs`` at α) and their ratio, the efficiency.  The models of one (architecture, batch) are timed
round-robin by :func:`octprof.timing.time_round_robin` (the timing protocol: warm-up, explicit threads, CUDA
synchronised); inference runs under ``torch.inference_mode``; training is forward + backward + an SGD step.
:func:`results_text` and :func:`write_results` render and write a result table with the machine description
(:func:`octprof.machine.machine_info`) that every measurement carries.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from octprof.core.errors import bad
from octprof.core.files import write_atomic
from octprof.core.fmt import format_for_path, render
from octprof.core.inputs import parse_grid
from octprof.machine import check_device, check_dtype, check_threads, default_channels_last, load_average, machine_info
from octprof.nn import OctConv2d
from octprof.timing import make_input, make_step, time_round_robin

__all__ = [
    "BENCH_COLUMNS",
    "MODES",
    "BenchResult",
    "bench",
    "build_model",
    "check_batches",
    "results_text",
    "write_results",
]

MODES: tuple[str, ...] = ("infer", "train")
# how a run was made (one column each in the results)
RUN_SETTINGS: tuple[str, ...] = (
    "input_size",
    "device",
    "dtype",
    "threads",
    "mode",
    "channels_last",
    "compiled",
    "backend",
    "precision",
    "impl",
)
# the run's settings: a text table shows them once, in a note, when every row has the same (CSV and JSON keep them)
SETTINGS: tuple[str, ...] = (*RUN_SETTINGS, "repeats", "warmup")
BENCH_COLUMNS: tuple[str, ...] = (
    "arch",
    "alpha",
    "batch",
    *RUN_SETTINGS,
    "median_ms",
    "iqr_ms",
    "throughput",
    "speedup",
    "theory_speedup",
    "efficiency",
    "macs",
    "repeats",
)


def check_batches(batches: int | Sequence[int]) -> list[int]:
    """Batch sizes, each a positive integer."""
    items = [batches] if isinstance(batches, int) else list(batches)
    if not items:
        raise bad("--batch", batches, "expected at least one batch size")
    for b in items:
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise bad("--batch", b, "expected positive batch sizes (1 or more)")
    return items


# -- models -------------------------------------------------------------------------------------------------------


def build_model(
    analysis: Any,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
    impl: str = "fast",
    mode: str = "infer",
) -> nn.Module:
    """The octave network of ``analysis`` (``impl``: ``fast`` → :class:`~octprof.fastconv.FastOctConv2d`,
    ``reference`` → :class:`~octprof.nn.OctConv2d`) on ``device``/``dtype``, channels-last if asked, in eval mode
    for inference and train mode for training."""
    from octprof.fastconv import FastOctConv2d

    if impl not in ("fast", "reference"):
        raise bad("impl", impl, "expected fast or reference")
    model = analysis.octify(FastOctConv2d if impl == "fast" else OctConv2d)
    model = model.to(device=device, dtype=dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.train(mode == "train")


# -- the sweep ----------------------------------------------------------------------------------------------------


@dataclass
class BenchResult:
    """Rows measured so far and whether the sweep was interrupted (Ctrl-C) before the end."""

    rows: list[dict[str, Any]]
    interrupted: bool = False


def _alphas(alphas: Any) -> list[float]:
    grid = parse_grid(alphas, name="--alpha") if not isinstance(alphas, (list, tuple)) else parse_grid(list(alphas))
    return sorted({0.0, *grid})


def bench(
    archs: str | Sequence[Any],
    alphas: Any = (0.0, 0.25, 0.5, 0.75),
    batches: int | Sequence[int] = 1,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    channels_last: bool | None = None,
    compile: bool = False,
    threads: int | None = None,
    mode: str = "infer",
    repeats: int = 7,
    warmup: int = 2,
    input_size: Any = None,
    impl: str | None = None,
    predict: bool = False,
    profile: str | None = None,
    progress: bool = True,
    backend: str = "eager",
) -> Any:
    """Time octave networks over ``archs`` × ``alphas`` × ``batches``; a pandas DataFrame with the columns of
    :data:`BENCH_COLUMNS` (and ``predicted_ms`` with ``predict``), one row per (arch, batch, α).

    α = 0 (the vanilla network: nothing is split, the graph is unchanged) is always measured, and is the
    baseline of ``speedup``.  ``theory_speedup`` is macs(α = 0) / macs(α) of the forward pass (the backward pass
    scales alike); ``efficiency`` = speedup / theory_speedup.  ``channels_last`` None: the device's default
    (:func:`default_channels_last`).  On Ctrl-C the rows of the finished (arch, batch)
    groups are returned, and ``df.attrs["interrupted"]`` is True.  ``df.attrs["machine"]`` describes the machine.
    """
    import pandas as pd

    dev = check_device(device)
    dt = check_dtype(dtype, dev)
    nthreads = check_threads(threads, dev)
    sizes = check_batches(batches)
    channels_last = default_channels_last(dev) if channels_last is None else bool(channels_last)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise bad("--warmup", warmup, "expected an integer >= 0")
    if mode not in MODES:
        raise bad("--mode", mode, f"expected one of {', '.join(MODES)}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise bad("--repeats", repeats, "expected a positive number of rounds")
    from octprof.backends import EXPORTED, check_backend

    if compile and backend not in ("eager", "compile"):
        raise bad("--compile", backend, "--compile is the compile backend; give one backend")
    backend = check_backend("compile" if compile else backend, dev, dt, mode)
    compile = backend == "compile"
    channels_last = channels_last and backend not in EXPORTED  # exported graphs take plain NCHW input
    # Exported runtimes fuse the reference layer's plain paths themselves; FastOctConv2d's concatenations and
    # strided views only stand in their way (ONNX Runtime, ResNet-50 α = .5, batch 1: 1.59× against 0.95×).
    impl = impl or ("reference" if backend in EXPORTED else "fast")
    grid = _alphas(alphas)
    arch_list = [archs] if isinstance(archs, (str, nn.Module)) else list(archs)
    if not arch_list:
        raise bad("--arch", archs, "expected at least one architecture")
    latency_model = None
    if predict:
        from octprof.latency import load_profile

        latency_model = load_profile(
            profile, device=dev, dtype=dt, threads=nthreads, channels_last=channels_last, backend=backend
        )
    result = BenchResult([])
    load_before = load_average()
    groups = [(a, b) for a in arch_list for b in sizes]
    bar = _progress(total=len(groups) * (len(grid) + repeats), enabled=progress)
    try:
        for arch, batch in groups:
            result.rows.extend(
                _bench_group(
                    arch,
                    batch,
                    grid,
                    dev,
                    dt,
                    channels_last,
                    compile,
                    nthreads,
                    mode,
                    repeats,
                    warmup,
                    input_size,
                    impl,
                    latency_model,
                    bar,
                    backend,
                )
            )
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    df = pd.DataFrame(result.rows, columns=[*BENCH_COLUMNS, *(["predicted_ms"] if predict else [])])
    df.attrs["machine"] = {**machine_info(dev, nthreads), "load_average_before": load_before}
    df.attrs["interrupted"] = result.interrupted
    return df


def _progress(total: int, enabled: bool) -> Any:
    """A bar on stderr when it is a terminal (and ``enabled``); a silent stand-in otherwise."""
    from octprof.progress import progress

    return progress(total=total, desc="bench", unit="step", enabled=None if enabled else False)


def _arch_name(arch: Any) -> str:
    return arch if isinstance(arch, str) else type(arch).__name__


def _bench_group(
    arch: Any,
    batch: int,
    grid: list[float],
    dev: torch.device,
    dt: torch.dtype,
    channels_last: bool,
    compile: bool,
    threads: int,
    mode: str,
    repeats: int,
    warmup: int,
    input_size: Any,
    impl: str,
    latency_model: Any,
    bar: Any,
    backend: str = "eager",
) -> list[dict[str, Any]]:
    from octprof.analysis import Network
    from octprof.backends import EXPORTED, exported_step

    name = _arch_name(arch)
    bar.set_description(f"{name} batch {batch}: building")
    net = Network(arch, input_size=input_size, batch=batch, dtype=dt)
    x = make_input(net.captured.input_shape, batch, dev, dt, channels_last)
    fns: dict[float, Callable[[], Any]] = {}
    macs: dict[float, int] = {}
    predicted: dict[float, float] = {}
    for alpha in grid:
        analysis = net.analyze(alpha)
        macs[alpha] = analysis.total()["macs"]
        model = build_model(analysis, dev, dt, channels_last and backend not in EXPORTED, impl, mode)
        if compile:
            torch._dynamo.reset()
            model = torch.compile(model)
        if backend in EXPORTED:
            bar.set_description(f"{name} batch {batch}: exporting α {alpha:g} to {backend}")
            fns[alpha], precision = exported_step(backend, model, x.contiguous(), threads)
        else:
            fns[alpha], precision = make_step(model, x, mode), str(dt).replace("torch.", "")
        if latency_model is not None:
            predicted[alpha] = latency_model.predict(analysis, impl=impl, mode=mode)
        bar.update(1)
    bar.set_description(f"{name} batch {batch}: timing")
    timings = time_round_robin(fns, dev, threads, repeats, warmup, on_round=lambda r: bar.update(1))
    base = timings[0.0].median
    rows = []
    for alpha in grid:
        t = timings[alpha]
        speedup = base / t.median
        theory = macs[0.0] / macs[alpha]
        row = {
            "arch": name,
            "alpha": alpha,
            "batch": batch,
            "input_size": "x".join(map(str, x.shape[2:])),
            "device": str(dev),
            "dtype": str(dt).replace("torch.", ""),
            "threads": threads,
            "mode": mode,
            "channels_last": channels_last and backend not in EXPORTED,
            "compiled": compile,
            "backend": backend,
            "precision": precision,
            "impl": impl,
            "median_ms": round(t.median, 4),
            "iqr_ms": round(t.iqr, 4),
            "throughput": round(1000.0 * batch / t.median, 3),
            "speedup": round(speedup, 4),
            "theory_speedup": round(theory, 4),
            "efficiency": round(speedup / theory, 4),
            "macs": macs[alpha],
            "repeats": repeats,
        }
        if latency_model is not None:
            row["predicted_ms"] = round(predicted[alpha], 4)
        rows.append(row)
    return rows


# -- writing results ----------------------------------------------------------------------------------------------


def results_text(
    df: Any, fmt: str = "table", title: str | None = None, notes: Sequence[str] = (), json_records: bool = False
) -> str:
    """A result table rendered in ``fmt`` as :func:`write_results` writes it: with the machine description
    (``df.attrs["machine"]``) as a JSON object, CSV comment lines or notes.  ``json_records``: JSON as a plain
    list of records (as every command prints it), without the machine."""
    machine = dict(df.attrs.get("machine", {}))
    records = _records(df)
    if fmt == "json" and json_records:
        return render(records, "json", columns=list(df.columns))
    if fmt == "json":
        return json.dumps({"machine": machine, "notes": list(notes), "rows": records}, indent=2, default=str) + "\n"
    if fmt == "csv":
        head = [f"# {k}: {v}" for k, v in machine.items()] + [f"# {n}" for n in notes]
        return "\n".join(head) + ("\n" if head else "") + render(records, "csv", columns=list(df.columns))
    machine_notes = [f"{k}: {v}" for k, v in machine.items()]
    columns, same = _fold_settings(records, list(df.columns))
    if same:
        notes = [f"every row: {same}", *notes]
    return render(records, fmt, columns=columns, title=title, notes=[*notes, *machine_notes])


def _fold_settings(records: list[dict[str, Any]], columns: list[str]) -> tuple[list[str], str]:
    """The columns to show and the note for the settings every row shares (so that a text table fits a terminal)."""
    if len(records) < 2:
        return columns, ""
    same = [c for c in SETTINGS if c in columns and all(r.get(c) == records[0].get(c) for r in records)]
    note = ", ".join(f"{c} {_setting_text(records[0][c])}" for c in same)
    return [c for c in columns if c not in same], note


def _setting_text(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def write_results(
    df: Any, path: str | os.PathLike[str], fmt: str | None = None, title: str | None = None, notes: Sequence[str] = ()
) -> None:
    """Write a result table with the machine description (``df.attrs["machine"]``) atomically.

    JSON: ``{"machine": {...}, "notes": [...], "rows": [...]}``; CSV: ``# key: value`` comment lines first, then
    the table; other formats as :func:`octprof.core.fmt.render` with the machine as notes."""
    path = os.fspath(path)
    write_atomic(path, results_text(df, format_for_path(path, "csv", fmt), title=title, notes=notes))


def _records(df: Any) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if hasattr(v, "item") and not isinstance(v, (str, bytes)):
                with contextlib.suppress(TypeError, ValueError):
                    v = v.item()
            if isinstance(v, float) and math.isnan(v):
                v = None
            clean[k] = v
        out.append(clean)
    return out
