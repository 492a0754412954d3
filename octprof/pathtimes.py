"""Where the time of an octave network goes: per layer and per path, measured with ``torch.profiler``.

:func:`path_times` runs the network with :class:`TimedOctConv2d`, the reference octave convolution with every
path (``h2h``, ``h2l``, ``l2h``, ``l2l``) and glue op (``pool``, ``upsample``, ``add``) in its own labelled
``record_function`` region (:class:`Region`), and puts each region's time next to the cost model's share of that
path.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from octprof.core.rules import octave_capable
from octprof.machine import (
    check_device,
    check_dtype,
    check_threads,
    default_channels_last,
    machine_info,
    profiler_activities,
)
from octprof.nn import OctConv2d, OctLike, oct_parts
from octprof.timing import make_input, sync, using_threads

__all__ = ["REGION", "Region", "TimedOctConv2d", "path_times"]

REGION = "octprof"


class Region:
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
        sync(self.device)
        self.rf.__exit__(*exc)


class TimedOctConv2d(OctConv2d):
    """The reference octave convolution with every path and glue op in its own labelled profiler region
    (``octprof/<layer>/<path>``), the whole layer in ``octprof/<layer>``; used only to attribute time."""

    _label: str = "?"
    _device: torch.device = torch.device("cpu")

    def _region(self, path: str) -> Region:
        return Region(f"{REGION}/{self._label}/{path}", self._device)

    def forward(self, x: OctLike) -> OctLike:
        with Region(f"{REGION}/{self._label}", self._device):
            return self._timed(x)

    def _timed(self, x: OctLike) -> OctLike:
        F = torch.nn.functional
        xh, xl = oct_parts(x)
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
        with using_threads(nthreads), torch.inference_mode():
            model(x)
            sync(dev)
            with profile(activities=activities) as prof:
                for _ in range(repeats):
                    with Region(f"{REGION}/__forward__", dev):
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
        df.attrs["arch"], df.attrs["alpha"], df.attrs["batch"] = net.source.name, alpha, batch
    return per_layer, per_path


def _is_path_child(name: str, root: nn.Module) -> bool:
    parent, _, child = name.rpartition(".")
    return child in ("h2h", "h2l", "l2h", "l2l") and isinstance(root.get_submodule(parent), OctConv2d)


def _wrap_conv(mod: nn.Module, label: str, device: torch.device) -> list[Any]:
    state: dict[str, Region] = {}

    def pre(_m: nn.Module, _args: Any) -> None:
        state["r"] = Region(label, device)
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
