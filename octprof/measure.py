"""Does the saving hold up?  Measured latency of octave networks next to the closed form, and where the time goes.

- :func:`bench` times vanilla and octave networks over a grid of architectures × α × batch sizes and reports the
  median and IQR, throughput, the measured speedup over α = 0 *of the same run*, the closed form's speedup
  (``macs`` at α = 0 / ``macs`` at α) and their ratio, the efficiency.  Models of one (architecture, batch) are
  timed round-robin (one call of each in turn, ``repeats`` rounds), so that a slow spell on a shared machine hits
  every α alike instead of one of them.  The thread count is set explicitly, every model is warmed up first, and
  CUDA is synchronised before the clock is started and read (``torch.utils.benchmark.Timer`` would add two
  untimed calls to every sample); inference runs under ``torch.inference_mode``; training is forward + backward
  + an SGD step.
- :func:`path_times` attributes the time of every octave layer to its paths (``h2h``, ``h2l``, ``l2h``, ``l2l``)
  and glue (``pool``, ``upsample``, ``add``) with ``torch.profiler`` and labelled ``record_function`` regions,
  next to the cost model's share of each path.
- :func:`machine_info` describes the machine; results written by :func:`write_results` carry it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from octprof.core.errors import bad
from octprof.core.files import write_atomic
from octprof.core.fmt import format_for_path, render
from octprof.core.inputs import FLOAT_DTYPES, parse_grid
from octprof.core.rules import octave_capable
from octprof.nn import OctConv2d, OctLike, OctPair

__all__ = [
    "DTYPES",
    "MODES",
    "BenchResult",
    "Timing",
    "bench",
    "build_model",
    "check_batches",
    "check_device",
    "check_dtype",
    "check_threads",
    "default_channels_last",
    "machine_info",
    "make_input",
    "make_step",
    "path_times",
    "profiler_activities",
    "results_text",
    "time_round_robin",
    "write_results",
]

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in FLOAT_DTYPES}
MODES: tuple[str, ...] = ("infer", "train")
# Environment variables that change how CPU kernels run, recorded with every measurement.
ENV_VARS: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "MKL_NUM_THREADS",
    "GOMP_SPINCOUNT",
    "KMP_BLOCKTIME",
    "ONEDNN_MAX_CPU_ISA",
    "TORCHINDUCTOR_FREEZING",
)
BENCH_COLUMNS: tuple[str, ...] = (
    "arch",
    "alpha",
    "batch",
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
    "median_ms",
    "iqr_ms",
    "throughput",
    "speedup",
    "theory_speedup",
    "efficiency",
    "macs",
    "repeats",
)


# -- inputs -------------------------------------------------------------------------------------------------------


def check_device(device: str | torch.device) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``; CUDA must be available."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise bad("--device", device, "expected cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise bad("--device", str(device), "CUDA is not available on this machine", "use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise bad("--device", str(device), f"this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise bad("--device", str(device), "expected cpu, cuda or cuda:N")
    return dev


def check_dtype(dtype: str | torch.dtype, device: str | torch.device = "cpu") -> torch.dtype:
    """A floating dtype by name (``float32``, ``float16``, ``bfloat16``, ``float64``) that convolutions,
    batch norm and pooling support on ``device`` (probed with a tiny network)."""
    if isinstance(dtype, torch.dtype):
        names = {v: k for k, v in DTYPES.items()}
        if dtype not in names:
            raise bad("--dtype", str(dtype), f"expected one of {', '.join(DTYPES)}")
        name, dt = names[dtype], dtype
    else:
        if dtype not in DTYPES:
            raise bad("--dtype", dtype, f"expected one of {', '.join(DTYPES)}")
        name, dt = dtype, DTYPES[dtype]
    dev = torch.device(device)
    try:
        _probe(dt, dev)
    except (RuntimeError, NotImplementedError) as e:
        first = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise bad(
            "--dtype",
            name,
            f"not supported for convolutions on {dev.type} ({first})",
            "use float32" + (" or bfloat16" if dev.type == "cpu" else ""),
        ) from None
    return dt


def _probe(dtype: torch.dtype, device: torch.device) -> None:
    probe = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2))
    probe = probe.to(device=device, dtype=dtype).eval()
    with torch.inference_mode():
        probe(torch.zeros(1, 4, 8, 8, device=device, dtype=dtype))


def check_threads(threads: int | None, device: str | torch.device = "cpu") -> int:
    """Threads for the run: ``None`` means the current ``torch.get_num_threads()``."""
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise bad("--threads", threads, "expected a positive number of threads")
    return threads


def check_batches(batches: int | Sequence[int]) -> list[int]:
    """Batch sizes, each a positive integer."""
    items = [batches] if isinstance(batches, int) else list(batches)
    if not items:
        raise bad("--batch", batches, "expected at least one batch size")
    for b in items:
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise bad("--batch", b, "expected positive batch sizes (1 or more)")
    return items


# -- the machine --------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info(device: str | torch.device = "cpu", threads: int | None = None) -> dict[str, Any]:
    """Where a measurement was taken: CPU model and cores, OS, Python, torch and its backends, threads, the
    1-minute load average (other work on a shared machine), the threading environment variables that are set,
    and the CUDA device when there is one."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": threads if threads is not None else torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "device": str(device),
        "device_name": _cpu_model(),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    for var in ENV_VARS:
        if os.environ.get(var):
            info[var] = os.environ[var]
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        info.update(
            device_name=props.name,
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            gpu_memory_bytes=props.total_memory,
            compute_capability=f"{props.major}.{props.minor}",
        )
    return info


def busy_warning(threads: int, load: float | None = None, cores: int | None = None) -> str | None:
    """A warning when other work keeps the machine's cores busy (1-minute load average ``load``) so that this
    run's ``threads`` would share them, for any thread count: a descheduled single thread stretches timings
    (two 1-thread runs of one network at load 8 on 2 cores gave 99 and 266 ms), and OpenMP threads that wait for
    a descheduled partner make many-kernel networks (octave ones) several times slower.  None when the machine
    looks free enough."""
    if load is None:
        if not hasattr(os, "getloadavg"):
            return None
        load = os.getloadavg()[0]
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if load + threads <= cores + 0.5:
        return None
    advice = (
        "measure on a quiet machine, or with --threads 1, or with OMP_WAIT_POLICY=PASSIVE (threads sleep instead "
        "of spinning while they wait)"
        if threads > 1
        else "measure on a quiet machine"
    )
    return (
        f"the machine is busy (load average {load:.1f} on {cores} cores) and this run uses {threads} thread(s): "
        f"timings will be noisy and slow, octave networks the most; {advice}"
    )


def default_channels_last(device: str | torch.device) -> bool:
    """The memory format a run uses unless told: channels-last on CPU (octave networks' average pooling and
    nearest upsampling are much faster there: ResNet-50 at alpha .5 measured a speedup of 1.29 against 0.93 in
    NCHW), NCHW on CUDA."""
    return torch.device(device).type == "cpu"


# -- timing -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Times of one measured callable, in milliseconds."""

    times_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def iqr(self) -> float:
        if len(self.times_ms) < 2:
            return 0.0
        q = statistics.quantiles(self.times_ms, n=4, method="inclusive")
        return q[2] - q[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_round_robin(
    fns: dict[Any, Callable[[], Any]],
    device: str | torch.device = "cpu",
    threads: int | None = None,
    repeats: int = 7,
    warmup: int = 2,
    number: int = 1,
    on_round: Callable[[int], None] | None = None,
) -> dict[Any, Timing]:
    """Time every callable of ``fns`` in turn, ``repeats`` rounds, each sample the mean of ``number`` calls.

    Each callable is first called ``warmup`` times.  The thread count is set explicitly for the whole run
    (``threads``, default the current setting) and restored after; CUDA is synchronised before the clock is
    started and before it is read (``time.perf_counter``)."""
    dev = torch.device(device)
    nthreads = check_threads(threads)
    if repeats < 1:
        raise bad("repeats", repeats, "expected at least 1")
    samples: dict[Any, list[float]] = {k: [] for k in fns}
    with _threads(nthreads):
        for fn in fns.values():
            for _ in range(warmup):
                fn()
            _sync(dev)
        for r in range(repeats):
            for key, fn in fns.items():
                _sync(dev)
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                _sync(dev)
                samples[key].append(1000.0 * (time.perf_counter() - start) / number)
            if on_round is not None:
                on_round(r)
    return {k: Timing(tuple(v)) for k, v in samples.items()}


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


def make_step(model: nn.Module, x: torch.Tensor, mode: str) -> Callable[[], Any]:
    """One timed step of ``model`` on ``x``: a forward pass under ``inference_mode`` (``infer``), or forward +
    backward + an SGD step with momentum 0.9 (``train``; cross-entropy on random labels for a 2-d output)."""
    if mode == "infer":

        def infer() -> Any:
            with torch.inference_mode():
                return model(x)

        return infer
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    target: list[torch.Tensor] = []

    def train() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        if isinstance(out, torch.Tensor) and out.dim() == 2:
            if not target:
                target.append(torch.randint(0, out.shape[1], (out.shape[0],), device=out.device))
            loss = nn.functional.cross_entropy(out.float(), target[0])
        else:
            loss = sum(t.float().mean() for t in _flat(out))
        loss.backward()
        opt.step()

    return train


def _flat(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


def make_input(shape: Sequence[int], batch: int, device: torch.device, dtype: torch.dtype, channels_last: bool):
    """A seeded random input of ``shape`` with batch ``batch`` on ``device``/``dtype`` (channels-last if asked)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape[1:]), generator=gen).to(device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


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
    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
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
    return render(records, fmt, columns=list(df.columns), title=title, notes=[*notes, *machine_notes])


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


# -- per-path attribution -----------------------------------------------------------------------------------------

REGION = "octprof"


def _pair(x: OctLike) -> OctPair:
    """``(high, low)`` of an octave layer's input, a part with no channels as None (as ``OctConv2d`` reads it)."""
    if isinstance(x, torch.Tensor):
        return x, None
    if isinstance(x, (tuple, list)) and len(x) == 2:
        return tuple(None if t is not None and t.shape[1] == 0 else t for t in x)  # type: ignore[return-value]
    raise TypeError(f"input: expected a tensor or a (high, low) pair, got {type(x).__name__}")


class _Region:
    """A labelled ``record_function`` region; on CUDA it synchronises at its end, so that its CPU time covers
    the kernels it launched (attribution only: this serialises the device)."""

    def __init__(self, label: str, device: torch.device) -> None:
        self.label = label
        self.device = device
        self.rf: Any = None

    def __enter__(self) -> None:
        self.rf = torch.profiler.record_function(self.label)
        self.rf.__enter__()

    def __exit__(self, *exc: Any) -> None:
        _sync(self.device)
        self.rf.__exit__(*exc)


class TimedOctConv2d(OctConv2d):
    """The reference octave convolution with every path and glue op in its own labelled profiler region
    (``octprof/<layer>/<path>``), the whole layer in ``octprof/<layer>``; used only to attribute time."""

    _label: str = "?"
    _device: torch.device = torch.device("cpu")

    def _region(self, path: str) -> _Region:
        return _Region(f"{REGION}/{self._label}/{path}", self._device)

    def forward(self, x: OctLike) -> OctLike:
        with _Region(f"{REGION}/{self._label}", self._device):
            return self._timed(x)

    def _timed(self, x: OctLike) -> OctLike:
        F = torch.nn.functional
        xh, xl = _pair(x)
        self._check(xh, "high", self.in_split[0])
        self._check(xl, "low", self.in_split[1])
        if self.pool_mode and xh is not None and (self.h2h is not None or self.h2l is not None):
            with self._region("pool"):
                xh = F.avg_pool2d(xh, 2)
        yh = yl = None
        if self.h2h is not None:
            with self._region("h2h"):
                yh = self.h2h(xh)
        if self.l2h is not None:
            with self._region("l2h"):
                t = self.l2h(xl)
            if self.stride == 1:
                with self._region("upsample"):
                    t = F.interpolate(t, scale_factor=2.0, mode="nearest")
            if yh is None:
                yh = t
            else:
                with self._region("add"):
                    yh = yh + t
        if self.h2l is not None:
            if self.stride_rule == "pool":
                with self._region("pool"):
                    p = F.avg_pool2d(xh, 2)
            else:
                p = xh
            with self._region("h2l"):
                yl = self.h2l(p)
        if self.l2l is not None:
            src = xl
            if self.pool_mode:
                with self._region("pool"):
                    src = F.avg_pool2d(xl, 2)
            with self._region("l2l"):
                t = self.l2l(src)
            if yl is None:
                yl = t
            else:
                with self._region("add"):
                    yl = yl + t
        if self.out_split[1] == 0:
            return yh
        return yh, yl


def profiler_activities(device: str | torch.device) -> list[Any]:
    """The ``torch.profiler`` activities for a run on ``device``: CPU, plus CUDA on a GPU.  A CPU-only run also
    silences Kineto's own log lines (unless ``KINETO_LOG_LEVEL`` is set): the CUDA build of torch probes for a
    GPU when the profiler starts and prints ``gpuGetDeviceCount failed with code 35`` and ``USDT: profiler_start``
    on stderr on a machine without one.  Kineto reads the level when the process first profiles."""
    from torch.profiler import ProfilerActivity

    if torch.device(device).type == "cuda":
        return [ProfilerActivity.CPU, ProfilerActivity.CUDA]
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")  # 6: above every level Kineto logs at (5 still shows USDT)
    return [ProfilerActivity.CPU]


def _region_times(prof: Any, calls: int) -> dict[str, float]:
    """Inclusive CPU time (ms per call) of every ``octprof/…`` region."""
    out: dict[str, float] = {}
    cpu = torch.autograd.DeviceType.CPU
    for e in prof.events():
        if e.name.startswith(REGION + "/") and getattr(e, "device_type", cpu) == cpu:
            out[e.name] = out.get(e.name, 0.0) + e.cpu_time_total / 1000.0 / calls
    return out


def path_times(
    arch: Any,
    alpha: float = 0.5,
    batch: int = 1,
    input_size: Any = None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    channels_last: bool | None = None,
    threads: int | None = None,
    repeats: int = 3,
) -> tuple[Any, Any]:
    """Where the time of an octave network goes, per layer and per path, next to the cost model.

    Returns ``(per_layer, per_path)`` DataFrames.  ``per_layer``: one row per (layer, path) of every octave
    layer, with ``time_ms`` (profiler time of the path's region per forward) and the cost model's ``macs`` and
    ``act_elems``; a layer's ``overhead`` row is its total minus its paths (checks and Python between regions),
    so that the rows of a layer sum to its ``total`` row.  Vanilla convolutions get one ``conv`` row.
    ``per_path``: totals per path over the network with ``time_share`` next to the closed form's ``macs_share``
    and ``act_share``, plus ``other`` (everything outside convolutions) and ``network`` (the whole forward).
    The instrumented layers are the reference implementation; region bookkeeping adds a few µs per region."""
    import pandas as pd
    from torch.profiler import profile

    from octprof.analysis import Network

    dev = check_device(device)
    dt = check_dtype(dtype, dev)
    nthreads = check_threads(threads, dev)
    channels_last = default_channels_last(dev) if channels_last is None else bool(channels_last)
    net = Network(arch, input_size=input_size, batch=batch, dtype=dt)
    analysis = net.analyze(alpha)
    model = analysis.octify(TimedOctConv2d).to(device=dev, dtype=dt).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, TimedOctConv2d):
            mod._label, mod._device = name, dev
        elif isinstance(mod, nn.Conv2d) and not _is_path_child(name, model):
            hooks += _wrap_conv(mod, f"{REGION}/{name}/conv", dev)
    x = make_input(net.captured.input_shape, batch, dev, dt, channels_last)
    activities = profiler_activities(dev)
    try:
        with _threads(nthreads), torch.inference_mode():
            model(x)
            _sync(dev)
            with profile(activities=activities) as prof:
                for _ in range(repeats):
                    with _Region(f"{REGION}/__forward__", dev):
                        model(x)
    finally:
        for h in hooks:
            h.remove()
    times = _region_times(prof, repeats)
    cost = _path_costs(analysis)
    rows: list[dict[str, Any]] = []
    forward_ms = times.pop(f"{REGION}/__forward__", 0.0)
    layers: dict[str, dict[str, float]] = {}
    for label, ms in times.items():
        _, layer, *rest = label.split("/")
        layers.setdefault(layer, {})[rest[0] if rest else "total"] = ms
    for layer, parts in layers.items():
        total = parts.pop("total", None)
        if total is None:  # a vanilla conv: its one region is its total
            total = sum(parts.values())
        else:
            parts["overhead"] = total - sum(parts.values())
        for path, ms in parts.items():
            c = cost.get((layer, path), {})
            rows.append(
                {
                    "layer": layer,
                    "path": path,
                    "time_ms": ms,
                    "macs": c.get("macs", 0),
                    "act_elems": c.get("act_elems", 0),
                }
            )
        rows.append(
            {
                "layer": layer,
                "path": "total",
                "time_ms": total,
                "macs": sum(v.get("macs", 0) for (ly, _), v in cost.items() if ly == layer),
                "act_elems": sum(v.get("act_elems", 0) for (ly, _), v in cost.items() if ly == layer),
            }
        )
    per_layer = pd.DataFrame(rows, columns=["layer", "path", "time_ms", "macs", "act_elems"])
    parts_df = per_layer[per_layer["path"] != "total"]
    agg = parts_df.groupby("path", sort=False)[["time_ms", "macs", "act_elems"]].sum()
    order = [p for p in ("h2h", "h2l", "l2h", "l2l", "pool", "upsample", "add", "conv", "overhead") if p in agg.index]
    agg = agg.loc[order]
    conv_ms = float(per_layer.loc[per_layer["path"] == "total", "time_ms"].sum())
    other_macs = analysis.total()["macs"] - int(agg["macs"].sum())
    agg.loc["other"] = [max(forward_ms - conv_ms, 0.0), other_macs, 0]
    agg.loc["network"] = [forward_ms, analysis.total()["macs"], int(agg["act_elems"].sum())]
    agg = agg.reset_index().rename(columns={"index": "path"})
    body = agg["path"] != "network"
    agg["time_share"] = agg["time_ms"] / max(forward_ms, 1e-12)
    agg["macs_share"] = agg["macs"] / max(int(agg.loc[body, "macs"].sum()), 1)
    agg["act_share"] = agg["act_elems"] / max(int(agg.loc[body, "act_elems"].sum()), 1)
    agg.loc[~body, ["time_share", "macs_share", "act_share"]] = 1.0
    per_path = agg[["path", "time_ms", "time_share", "macs", "macs_share", "act_elems", "act_share"]]
    for df in (per_layer, per_path):
        df.attrs["machine"] = machine_info(dev, nthreads)
        df.attrs["arch"], df.attrs["alpha"], df.attrs["batch"] = _arch_name(arch), alpha, batch
    return per_layer, per_path


def _is_path_child(name: str, root: nn.Module) -> bool:
    parent, _, child = name.rpartition(".")
    return child in ("h2h", "h2l", "l2h", "l2l") and isinstance(root.get_submodule(parent), OctConv2d)


def _wrap_conv(mod: nn.Module, label: str, device: torch.device) -> list[Any]:
    state: dict[str, _Region] = {}

    def pre(_m: nn.Module, _args: Any) -> None:
        state["r"] = _Region(label, device)
        state["r"].__enter__()

    def post(_m: nn.Module, _args: Any, _out: Any) -> None:
        state.pop("r").__exit__(None, None, None)

    return [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]


def _path_costs(analysis: Any) -> dict[tuple[str, str], dict[str, int]]:
    """The closed form's macs and act_elems per (layer, path) of every convolution (octave paths and glue,
    vanilla convs under ``conv``)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for r in analysis.rows:
        if not octave_capable(r["op"]):
            continue
        key = (r["layer"], r["path"])
        slot = out.setdefault(key, {"macs": 0, "act_elems": 0})
        slot["macs"] += r["macs"]
        slot["act_elems"] += r["act_elems"]
    return out


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
