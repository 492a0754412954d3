"""The device and the machine a measurement runs on: which device, element type and thread count a run may use,
the description every result carries (CPU, torch, load, threading environment, GPU), the busy-machine warning,
the default memory format and the profiler's activities.

Every measuring module (:mod:`octprof.bench`, :mod:`octprof.pathtimes`, :mod:`octprof.latency`,
:mod:`octprof.memory_observe`) reads the machine here; :mod:`octprof.measure` re-exports it.
"""

from __future__ import annotations

import contextlib
import os
import platform
from typing import Any

import torch
from torch import nn

from octprof.core.errors import bad
from octprof.core.inputs import FLOAT_DTYPES

__all__ = [
    "DTYPES",
    "ENV_VARS",
    "busy_warning",
    "check_device",
    "check_dtype",
    "check_threads",
    "default_channels_last",
    "load_average",
    "machine_info",
    "profiler_activities",
]

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in FLOAT_DTYPES}
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


# -- what a run may use -------------------------------------------------------------------------------------------


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


def default_channels_last(device: str | torch.device) -> bool:
    """The memory format a run uses unless told: channels-last on CPU (octave networks' average pooling and
    nearest upsampling are much faster there: ResNet-50 at alpha .5 measured a speedup of 1.29 against 0.93 in
    NCHW), NCHW on CUDA."""
    return torch.device(device).type == "cpu"


# -- the machine --------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    """The 1-minute load average, rounded to 2 decimals (None where the OS has none)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


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
        "load_average": load_average(),
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
