"""Does the saving hold up?  Measured latency of octave networks next to the closed form, and where the time goes.

The public face of octprof's measurements; each concern lives in its own module and is re-exported here:

- :mod:`octprof.timing` — the timing protocol: round-robin timing, warm-up, explicit threads, CUDA synchronised
  around the clock, median and IQR (:func:`time_round_robin`, :class:`Timing`, :func:`make_step`,
  :func:`make_input`).
- :mod:`octprof.machine` — the device and the machine: :func:`check_device`, :func:`check_dtype`,
  :func:`check_threads`, :func:`machine_info`, :func:`busy_warning`, :func:`default_channels_last`,
  :func:`profiler_activities`.
- :mod:`octprof.bench` — :func:`bench` over architectures × α × batch sizes, and its reports
  (:func:`results_text`, :func:`write_results`).
- :mod:`octprof.pathtimes` — :func:`path_times`: the time of every octave layer per path, from profiler regions.
"""

from __future__ import annotations

from octprof.bench import (
    BENCH_COLUMNS,
    MODES,
    BenchResult,
    bench,
    build_model,
    check_batches,
    results_text,
    write_results,
)
from octprof.machine import (
    DTYPES,
    ENV_VARS,
    busy_warning,
    check_device,
    check_dtype,
    check_threads,
    default_channels_last,
    load_average,
    machine_info,
    profiler_activities,
)
from octprof.pathtimes import REGION, Region, TimedOctConv2d, path_times
from octprof.timing import Timing, make_input, make_step, sync, time_round_robin, using_threads

__all__ = [
    "BENCH_COLUMNS",
    "DTYPES",
    "ENV_VARS",
    "MODES",
    "REGION",
    "BenchResult",
    "Region",
    "TimedOctConv2d",
    "Timing",
    "bench",
    "build_model",
    "busy_warning",
    "check_batches",
    "check_device",
    "check_dtype",
    "check_threads",
    "default_channels_last",
    "load_average",
    "machine_info",
    "make_input",
    "make_step",
    "path_times",
    "profiler_activities",
    "results_text",
    "sync",
    "time_round_robin",
    "using_threads",
    "write_results",
]
