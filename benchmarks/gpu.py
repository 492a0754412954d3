"""The GPU check: every CUDA figure octprof reports, from one script that fits a short session on one GPU.

Sections run in order of value; each is recorded as ``ok``, ``partial``, ``skipped`` (the time budget ran out) or
``error`` with its seconds, and the JSON and the Markdown summary are rewritten after every section, so a run cut
short keeps what it measured:

1. ``calibrate`` -- the latency model's micro-benchmarks on the device, per dtype, channels-last
   (``octprof.latency.calibrate``; convolutions up to batch 256 on a GPU).
2. ``infer`` -- eager inference of every (arch, α, batch, dtype): models of one (arch, batch, dtype) timed
   round-robin, speedup over α = 0 of the same run next to the closed form's macs(0) / macs(α).
3. ``memory`` -- the inference peak (``max_memory_allocated`` over one forward) and the training peak (over one
   forward + backward) next to the closed form: ``peak_bytes``, and ``saved_bytes`` + the gradients' bytes.
4. ``table7`` -- Oct-ResNet-152 (v1f) and Oct-SE-ResNet-152 (v1e), α = 0 and 0.125, one training step at batch 128
   in float16: memory and images/s next to the paper's V100 figures.
5. ``train`` -- eager training steps (forward + backward + SGD with momentum) over the grid of ``infer`` at batch 32
   and 256.
6. ``model`` -- the calibrated latency model's prediction of every timed point: median |relative error| and
   Spearman's rank correlation of latency and of speedup.
7. ``compile`` -- ``torch.compile`` (inductor) of ResNet-50 at α = 0 and 0.5, batch 256, inference then training,
   as long as the budget lasts (a compile is started only when the time left covers it).

Every speedup is a ratio of medians measured in the same round-robin run.  All models are the octave networks
octprof builds (``FastOctConv2d``), channels-last, ``cudnn.benchmark`` on; the memory section runs the reference
``OctConv2d``, the implementation the closed-form memory model describes.

    python benchmarks/gpu.py                   # on a GPU, about 8 minutes: benchmarks/results/gpu-<device>.json / .md
    python benchmarks/gpu.py --device cpu --quick      # every code path on CPU at toy sizes (the suite runs it)
    python benchmarks/gpu.py --model-from benchmarks/results/gpu-nvidia-h200.json  # the model section, no device
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from octprof.analysis import Network
from octprof.core.fmt import write_atomic
from octprof.latency import calibrate, load_profile, median_abs_rel_error, save_profile, spearman
from octprof.measure import (
    DTYPES,
    build_model,
    check_device,
    check_dtype,
    machine_info,
    make_input,
    make_step,
    time_round_robin,
)
from octprof.memory import memory_model, observed_saved_bytes
from octprof.train import paper_training

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
FORMAT = "octprof-gpu-check/1"
# The paper's Table 7 training memory (batch 128, float16, one V100), shipped with its source in
# octprof/data/paper_training.csv; the paper's images/s are not in octprof's data.  A measurement of a whole
# framework process (workspaces, allocator caches), not comparable byte for byte with max_memory_allocated.
PAPER_TABLE7_MB = {r["arch"]: r["memory_mb"] for r in paper_training()}


@dataclass
class Config:
    """What to measure; :func:`full` is the GPU grid, :func:`quick` the same code paths at toy sizes."""

    archs: tuple[str, ...]
    alphas: tuple[float, ...]
    batches: tuple[int, ...]
    dtypes: tuple[str, ...]
    input_size: int | None
    repeats: int
    warmup: int
    memory_batch: int
    memory_dtype: str
    table7_archs: tuple[str, ...]
    table7_alphas: tuple[float, ...]
    table7_batch: int
    table7_dtype: str
    table7_input: int | None
    table7_repeats: int
    compile_arch: str
    compile_alphas: tuple[float, ...]
    compile_batch: int
    compile_dtype: str
    compile_backend: str
    compile_estimate_s: float
    calibrate_quick: bool
    train_batches: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def full(device: torch.device) -> Config:
    return Config(
        archs=("resnet50", "resnet101", "resnext50_32x4d"),
        alphas=(0.0, 0.25, 0.5, 0.75),
        batches=(1, 32, 256),
        dtypes=("bfloat16", "float16"),
        input_size=None,
        repeats=10,
        warmup=3,
        memory_batch=32,
        memory_dtype="float16",
        table7_archs=("resnet152_v1f", "se_resnet152_v1e"),
        table7_alphas=(0.0, 0.125),
        table7_batch=128,
        table7_dtype="float16",
        table7_input=None,
        table7_repeats=5,
        compile_arch="resnet50",
        compile_alphas=(0.0, 0.5),
        compile_batch=256,
        compile_dtype="bfloat16",
        compile_backend="inductor",
        compile_estimate_s=75.0,
        calibrate_quick=False,
        train_batches=(32, 256),
    )


def quick(device: torch.device) -> Config:
    # On CPU: float32 and bfloat16 (float16 convolutions are slow or missing there); compile through aot_eager,
    # which runs dynamo and AOT autograd (the graph capture inductor needs) without generating code.
    on_gpu = device.type == "cuda"
    return Config(
        archs=("resnet26",),
        alphas=(0.0, 0.5),
        batches=(1, 2),
        dtypes=("bfloat16", "float16") if on_gpu else ("float32", "bfloat16"),
        input_size=32,
        repeats=2,
        warmup=1,
        memory_batch=2,
        memory_dtype="float16" if on_gpu else "float32",
        table7_archs=("resnet152_v1f", "se_resnet152_v1e"),
        table7_alphas=(0.0, 0.125),
        table7_batch=2,
        table7_dtype="float16" if on_gpu else "float32",
        table7_input=32,
        table7_repeats=1,
        compile_arch="resnet26",
        compile_alphas=(0.0, 0.5),
        compile_batch=2,
        compile_dtype="float32",
        compile_backend="inductor" if on_gpu else "aot_eager",
        compile_estimate_s=5.0,
        calibrate_quick=True,
        train_batches=(2,),
    )


# -- the run's record ------------------------------------------------------------------------------------------------


class Run:
    """Sections, rows and the clock; :meth:`save` rewrites the JSON and the Markdown summary atomically."""

    def __init__(
        self, device: torch.device, cfg: Config, budget_s: float, out_dir: str, quick_mode: bool, tag: str = ""
    ) -> None:
        self.device = device
        self.cfg = cfg
        self.budget_s = budget_s
        self.start = time.monotonic()
        self.quick = quick_mode
        self.sections: dict[str, dict[str, Any]] = {}
        self.command = "python benchmarks/gpu.py"
        self.machine = machine_info(device)
        self.machine["cudnn_benchmark"] = bool(torch.backends.cudnn.benchmark)
        name = self.machine.get("device_name", "cpu") if device.type == "cuda" else "cpu"
        self.slug = (
            re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")
            + ("-quick" if quick_mode else "")
            + (f"-{tag}" if tag else "")
        )
        self.json_path = os.path.join(out_dir, f"gpu-{self.slug}.json")
        self.md_path = os.path.join(out_dir, f"gpu-{self.slug}.md")

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.start)

    def log(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    def section(self, name: str) -> dict[str, Any]:
        sec = {"status": "running", "seconds": 0.0, "rows": [], "notes": [], "errors": [], "skipped": []}
        self.sections[name] = sec
        return sec

    def record_error(self, sec: dict[str, Any], what: str, e: BaseException) -> None:
        msg = f"{what}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        sec["errors"].append(msg)
        tb = traceback.format_exc(limit=6)
        sec.setdefault("tracebacks", []).append(tb[-3000:])
        self.log("ERROR " + msg)

    def save(self) -> None:
        doc = {
            "format": FORMAT,
            "command": self.command,
            "quick": self.quick,
            "budget_s": self.budget_s,
            "elapsed_s": round(time.monotonic() - self.start, 1),
            "machine": self.machine,
            "config": dict(vars(self.cfg).items()),
            "sections": self.sections,
        }
        os.makedirs(os.path.dirname(self.json_path) or ".", exist_ok=True)
        write_atomic(self.json_path, json.dumps(doc, indent=1, default=str) + "\n")
        write_atomic(self.md_path, summary_markdown(doc))


def run_section(run: Run, name: str, fn: Callable[[Run, dict[str, Any]], None], needs_s: float = 0.0) -> None:
    sec = run.section(name)
    t0 = time.monotonic()
    if run.left() < needs_s:
        sec["status"] = "skipped"
        sec["notes"].append(
            f"not started: {run.left():.0f} s of the budget left, the section needs about {needs_s:.0f}"
        )
        run.log(f"{name}: skipped (budget)")
        run.save()
        return
    run.log(f"{name}: start ({run.left():.0f} s of the budget left)")
    try:
        fn(run, sec)
        sec["status"] = "partial" if (sec["skipped"] or sec["errors"]) else "ok"
    except KeyboardInterrupt:
        sec["status"] = "interrupted"
        raise
    except Exception as e:
        run.record_error(sec, name, e)
        sec["status"] = "error"
    finally:
        sec["seconds"] = round(time.monotonic() - t0, 1)
        run.log(f"{name}: {sec['status']} in {sec['seconds']} s")
        free(run.device)
        run.save()


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def dtype_ok(run: Run, sec: dict[str, Any], name: str) -> torch.dtype | None:
    try:
        return check_dtype(name, run.device)
    except Exception as e:
        sec["skipped"].append(f"dtype {name}: {e}")
        return None


# -- models, built once per (arch, α) and copied onto the device per dtype -----------------------------------------


class Models:
    """Traced networks per (arch, batch, dtype) and octave networks per (arch, α, impl), built once on the CPU."""

    def __init__(self, input_size: int | None) -> None:
        self.input_size = input_size
        self.nets: dict[tuple[str, int, str], Network] = {}
        self.cpu: dict[tuple[str, float, str], torch.nn.Module] = {}

    def net(self, arch: str, batch: int, dtype: torch.dtype, input_size: int | None = None) -> Network:
        key = (arch, batch, str(dtype), input_size or self.input_size)
        if key not in self.nets:
            self.nets[key] = Network(arch, input_size=input_size or self.input_size, batch=batch, dtype=dtype)
        return self.nets[key]

    def analysis(self, arch: str, alpha: float, batch: int, dtype: torch.dtype, input_size: int | None = None) -> Any:
        return self.net(arch, batch, dtype, input_size).analyze(alpha)

    def model(
        self,
        arch: str,
        alpha: float,
        device: torch.device,
        dtype: torch.dtype,
        mode: str,
        impl: str = "fast",
        input_size: int | None = None,
    ) -> torch.nn.Module:
        """A fresh copy of the octave network on ``device``/``dtype``, channels-last (the structure does not depend on
        the batch, so one CPU build serves every batch)."""
        key = (arch, alpha, impl, input_size or self.input_size)
        if key not in self.cpu:
            a = self.analysis(arch, alpha, 1, torch.float32, input_size)
            self.cpu[key] = build_model(a, "cpu", torch.float32, False, impl, "infer")
        m = copy.deepcopy(self.cpu[key]).to(device=device, dtype=dtype).to(memory_format=torch.channels_last)
        return m.train(mode == "train")


# -- timing groups ---------------------------------------------------------------------------------------------------


def time_group(
    run: Run,
    models: Models,
    arch: str,
    batch: int,
    dt: torch.dtype,
    mode: str,
    alphas: tuple[float, ...],
    compiled: bool = False,
    backend: str = "inductor",
    prebuilt: dict[float, torch.nn.Module] | None = None,
) -> list[dict[str, Any]]:
    """Round-robin timing of one (arch, batch, dtype, mode) over ``alphas``; one row per α."""
    cfg = run.cfg
    net = models.net(arch, batch, dt)
    x = make_input(net.captured.input_shape, batch, run.device, dt, True)
    fns: dict[float, Callable[[], Any]] = {}
    macs: dict[float, int] = {}
    for alpha in alphas:
        macs[alpha] = net.analyze(alpha).total()["macs"]
        model = prebuilt[alpha] if prebuilt is not None else models.model(arch, alpha, run.device, dt, mode)
        fns[alpha] = make_step(model, x, mode)
    t = time_round_robin(fns, run.device, None, cfg.repeats, cfg.warmup)
    base = t[0.0].median if 0.0 in t else float("nan")
    rows = []
    for alpha in alphas:
        med = t[alpha].median
        theory = macs[0.0] / macs[alpha] if 0.0 in macs else float("nan")
        speedup = base / med
        rows.append(
            {
                "arch": arch,
                "alpha": alpha,
                "batch": batch,
                "dtype": str(dt).replace("torch.", ""),
                "mode": mode,
                "compiled": backend if compiled else "",
                "median_ms": round(med, 4),
                "iqr_ms": round(t[alpha].iqr, 4),
                "images_per_s": round(1000.0 * batch / med, 1),
                "speedup": round(speedup, 4),
                "theory_speedup": round(theory, 4),
                "efficiency": round(speedup / theory, 4),
                "macs": macs[alpha],
                "tmacs_per_s": round(macs[alpha] * (3 if mode == "train" else 1) / med / 1e9, 2),
            }
        )
    del fns
    return rows


def grid_section(mode: str) -> Callable[[Run, dict[str, Any]], None]:
    def body(run: Run, sec: dict[str, Any]) -> None:
        cfg = run.cfg
        models: Models = run.cfg.extra["models"]
        batches = cfg.batches if mode == "infer" else (cfg.train_batches or cfg.batches)
        for name in cfg.dtypes:
            dt = dtype_ok(run, sec, name)
            if dt is None:
                continue
            for arch in cfg.archs:
                for batch in batches:
                    what = f"{mode} {arch} batch {batch} {name}"
                    if run.left() < 5:
                        sec["skipped"].append(f"{what}: budget")
                        continue
                    try:
                        rows = time_group(run, models, arch, batch, dt, mode, cfg.alphas)
                        sec["rows"].extend(rows)
                        run.log(f"{what}: " + ", ".join(f"α {r['alpha']}: {r['speedup']:.2f}x" for r in rows))
                    except Exception as e:
                        run.record_error(sec, what, e)
                    finally:
                        free(run.device)
                run.save()

    return body


# -- sections --------------------------------------------------------------------------------------------------------


def section_calibrate(run: Run, sec: dict[str, Any]) -> None:
    cfg = run.cfg
    profile = os.path.join(os.path.dirname(run.json_path), f"gpu-{run.slug}-profile.json")
    cfg.extra["profile"] = profile
    for name in cfg.dtypes:
        dt = dtype_ok(run, sec, name)
        if dt is None:
            continue
        try:
            entries = calibrate(run.device, name, None, channels_last=True, quick=cfg.calibrate_quick, repeats=5)
        except Exception as e:
            run.record_error(sec, f"calibrate {name}", e)
            continue
        save_profile(entries, profile)
        for e in entries:
            sec["rows"].append(
                {
                    "dtype": name,
                    "threads": e["key"]["threads"],
                    "samples": e["fit"]["samples"],
                    "fit_median_abs_rel_error": round(e["fit"]["median_abs_rel_error"], 4),
                    **{f"peak_tmacs_per_s_{k}": round(v / 1e12, 3) for k, v in e["params"]["peak_macs"].items()},
                    "bandwidth_gb_per_s": round(e["params"]["bandwidth"] / 1e9, 1),
                    "overhead_us": round(e["params"]["overhead"] * 1e6, 2),
                    "params": e["params"],
                }
            )
        run.log(f"calibrate {name}: fit median |error| {100 * entries[0]['fit']['median_abs_rel_error']:.1f}%")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_of(device: torch.device, fn: Callable[[], Any]) -> int | None:
    """Peak bytes allocated while ``fn`` runs, over what was allocated before (CUDA only)."""
    if device.type != "cuda":
        return None
    _sync(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    out = fn()
    _sync(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del out
    return int(peak)


def section_memory(run: Run, sec: dict[str, Any]) -> None:
    cfg = run.cfg
    models: Models = cfg.extra["models"]
    dt = dtype_ok(run, sec, cfg.memory_dtype)
    if dt is None:
        return
    sec["notes"] += [
        "reference OctConv2d (the closed form's layer), channels-last, batch "
        f"{cfg.memory_batch}, {cfg.memory_dtype}; peaks are over what was allocated before the pass "
        "(weights, optimizer state and the input excluded)",
        "infer: model_peak_bytes = most activation bytes live at once (closed form); measured = max_memory_allocated "
        "over one forward under inference_mode",
        "train: model_train_peak_bytes = saved_bytes (closed form) + gradients (params x dtype bytes); measured = "
        "max_memory_allocated over one forward + backward with gradients set to None before",
    ]
    for arch in cfg.archs:
        for alpha in cfg.alphas:
            what = f"memory {arch} α {alpha}"
            if run.left() < 5:
                sec["skipped"].append(f"{what}: budget")
                continue
            try:
                a = models.analysis(arch, alpha, cfg.memory_batch, dt)
                mm = memory_model(a).summary()
                model = models.model(arch, alpha, run.device, dt, "infer", impl="reference")
                x = make_input(a.captured.input_shape, cfg.memory_batch, run.device, dt, True)
                with torch.inference_mode():
                    model(x)  # warm-up: cudnn autotuning and lazy state are not activations
                with torch.inference_mode():
                    infer_peak = _peak_of(run.device, lambda model=model, x=x: model(x))
                model.train()
                param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())

                def fwd_bwd(model: torch.nn.Module = model, x: torch.Tensor = x) -> None:
                    out = model(x)
                    out.float().sum().backward()

                fwd_bwd()
                model.zero_grad(set_to_none=True)
                train_peak = _peak_of(run.device, fwd_bwd)
                model.zero_grad(set_to_none=True)
                saved_obs = observed_saved_bytes(model, x)
                row = {
                    "arch": arch,
                    "alpha": alpha,
                    "batch": cfg.memory_batch,
                    "dtype": cfg.memory_dtype,
                    "model_peak_bytes": mm["peak_bytes"],
                    "measured_peak_bytes": infer_peak,
                    "saved_bytes": mm["saved_bytes"],
                    "observed_saved_bytes": saved_obs,
                    "param_bytes": param_bytes,
                    "model_train_peak_bytes": mm["saved_bytes"] + param_bytes,
                    "measured_train_peak_bytes": train_peak,
                }
                if infer_peak:
                    row["infer_measured_over_model"] = round(infer_peak / mm["peak_bytes"], 4)
                if train_peak:
                    row["train_measured_over_model"] = round(train_peak / row["model_train_peak_bytes"], 4)
                sec["rows"].append(row)
                run.log(
                    f"{what}: infer {row.get('infer_measured_over_model')}, train "
                    f"{row.get('train_measured_over_model')}, saved exact {saved_obs == mm['saved_bytes']}"
                )
            except Exception as e:
                run.record_error(sec, what, e)
            finally:
                free(run.device)
    base: dict[str, dict[str, Any]] = {r["arch"]: r for r in sec["rows"] if r["alpha"] == 0.0}
    for r in sec["rows"]:
        b = base.get(r["arch"])
        if b is None:
            continue
        for col in ("model_peak_bytes", "measured_peak_bytes", "model_train_peak_bytes", "measured_train_peak_bytes"):
            if r.get(col) and b.get(col):
                r[col.replace("_bytes", "_ratio")] = round(r[col] / b[col], 4)


def section_table7(run: Run, sec: dict[str, Any]) -> None:
    cfg = run.cfg
    models: Models = cfg.extra["models"]
    dt = dtype_ok(run, sec, cfg.table7_dtype)
    if dt is None:
        return
    sec["notes"] += [
        f"one training step (forward + backward + SGD momentum 0.9), batch {cfg.table7_batch}, {cfg.table7_dtype} "
        "weights, gradients, momentum and activations (Gluon's multi-precision SGD also keeps float32 master "
        "weights: 4 more bytes per parameter), FastOctConv2d, channels-last",
        "measured_mb: torch.cuda.max_memory_allocated over a step, everything of the process on the device "
        "(weights, momentum, input, activations, gradients, workspaces); reserved_mb: the caching allocator's "
        "max_memory_reserved; model_mb: weights + gradients + momentum + input + saved-for-backward (closed form)",
        "paper_mb: Table 7 of the paper, one V100, MXNet; a framework process's memory, not the same quantity",
    ]
    for arch in cfg.table7_archs:
        if run.left() < 10:
            sec["skipped"].append(f"{arch}: budget")
            continue
        try:
            net = models.net(arch, cfg.table7_batch, dt, cfg.table7_input)
            x = make_input(net.captured.input_shape, cfg.table7_batch, run.device, dt, True)
            steps: dict[float, Callable[[], Any]] = {}
            mem: dict[float, dict[str, Any]] = {}
            for alpha in cfg.table7_alphas:
                a = net.analyze(alpha)
                model = models.model(arch, alpha, run.device, dt, "train", input_size=cfg.table7_input)
                step = make_step(model, x, "train")
                for _ in range(2):
                    step()  # cudnn autotuning, momentum buffers
                _sync(run.device)
                free(run.device)
                info: dict[str, Any] = {"macs": a.total()["macs"]}
                if run.device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(run.device)
                    step()
                    _sync(run.device)
                    info["measured_mb"] = round(torch.cuda.max_memory_allocated(run.device) / 2**20, 1)
                    info["reserved_mb"] = round(torch.cuda.max_memory_reserved(run.device) / 2**20, 1)
                pbytes = sum(p.numel() * p.element_size() for p in model.parameters())
                saved = memory_model(a).summary()["saved_bytes"]
                info["model_mb"] = round((3 * pbytes + x.numel() * x.element_size() + saved) / 2**20, 1)
                info["saved_mb"] = round(saved / 2**20, 1)
                info["params"] = sum(p.numel() for p in model.parameters())
                mem[alpha] = info
                steps[alpha] = step
            t = time_round_robin(steps, run.device, None, cfg.table7_repeats, 1)
            for alpha in cfg.table7_alphas:
                med = t[alpha].median
                row = {
                    "arch": arch,
                    "alpha": alpha,
                    "batch": cfg.table7_batch,
                    "dtype": cfg.table7_dtype,
                    **mem[alpha],
                    "step_ms": round(med, 2),
                    "images_per_s": round(1000.0 * cfg.table7_batch / med, 1),
                    "paper_mb": PAPER_TABLE7_MB.get(arch) if alpha == 0.125 else None,
                }
                if row.get("measured_mb"):
                    row["measured_over_model"] = round(row["measured_mb"] / row["model_mb"], 4)
                sec["rows"].append(row)
                run.log(f"table7 {arch} α {alpha}: {row.get('measured_mb')} MB, {row['images_per_s']} images/s")
            del steps
        except Exception as e:
            run.record_error(sec, f"table7 {arch}", e)
        finally:
            free(run.device)


def section_model(run: Run, sec: dict[str, Any]) -> None:
    profile = run.cfg.extra.get("profile")
    if not profile or not os.path.exists(profile):
        sec["skipped"].append("no device profile (the calibrate section did not run)")
        return
    timed = [r for name in ("infer", "train") for r in run.sections.get(name, {}).get("rows", [])]
    rows, summary, skipped = predict_grid(timed, profile, run.cfg.extra["models"], str(run.device))
    sec["rows"], sec["summary"] = rows, summary
    sec["skipped"] += skipped


def predict_grid(
    timed: list[dict[str, Any]], profile: str, models: Models, device: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The calibrated latency model's prediction of every timed row, and its median |relative error| and
    Spearman's rank correlations per (dtype, mode) and over all.  Needs no device: the profile holds the fit."""
    with open(profile, encoding="utf-8") as fh:
        entries = json.load(fh)["entries"]
    threads = {e["key"]["dtype"]: e["key"]["threads"] for e in entries}
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for r in timed:
        if r["dtype"] not in threads:
            skipped.append(f"{r['dtype']}: no calibration in {profile}")
            continue
        lm = load_profile(profile, device, r["dtype"], threads[r["dtype"]], channels_last=True)
        a = models.analysis(r["arch"], r["alpha"], r["batch"], DTYPES[r["dtype"]])
        pred = lm.predict(a, impl="fast", mode=r["mode"])
        row = {k: r[k] for k in ("arch", "alpha", "batch", "dtype", "mode", "median_ms", "speedup")}
        row["predicted_ms"] = round(pred, 4)
        row["rel_error"] = round((pred - r["median_ms"]) / r["median_ms"], 4)
        rows.append(row)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["arch"], r["batch"], r["dtype"], r["mode"]), []).append(r)
    for g in groups.values():
        base = next((r["predicted_ms"] for r in g if r["alpha"] == 0.0), None)
        for r in g:
            r["predicted_speedup"] = round(base / r["predicted_ms"], 4) if base else None
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault(f"{r['dtype']} {r['mode']}", []).append(r)
        by_key.setdefault(f"batch {r['batch']}", []).append(r)
    summary = []
    for key, sel in [("all", rows), *sorted(by_key.items())]:
        if len(sel) < 2:
            continue
        pairs = [r for r in sel if r.get("predicted_speedup") is not None and r["alpha"] != 0.0]
        pred, meas = [r["predicted_ms"] for r in sel], [r["median_ms"] for r in sel]
        summary.append(
            {
                "points": key,
                "n": len(sel),
                "median_abs_rel_error": round(median_abs_rel_error(pred, meas), 4),
                "spearman_latency": round(spearman(pred, meas), 4),
                "spearman_speedup": round(
                    spearman([r["predicted_speedup"] for r in pairs], [r["speedup"] for r in pairs]), 4
                )
                if len(pairs) >= 2
                else None,
            }
        )
    return rows, summary, skipped


def section_compile(run: Run, sec: dict[str, Any]) -> None:
    cfg = run.cfg
    models: Models = cfg.extra["models"]
    dt = dtype_ok(run, sec, cfg.compile_dtype)
    if dt is None:
        return
    sec["notes"].append(
        f"torch.compile(backend={cfg.compile_backend!r}) after torch._dynamo.reset(); the time to compile is "
        "compile_s (first call, autotuning included); timing as in infer/train"
    )
    for mode in ("infer", "train"):
        done: dict[float, torch.nn.Module] = {}
        compile_s: dict[float, float] = {}
        net = models.net(cfg.compile_arch, cfg.compile_batch, dt)
        x = make_input(net.captured.input_shape, cfg.compile_batch, run.device, dt, True)
        for alpha in cfg.compile_alphas:
            # compile each model only while the budget covers it and its timing; keep what is compiled
            if run.left() < cfg.compile_estimate_s * (2 if mode == "train" else 1) + 15:
                sec["skipped"].append(f"{mode} α {alpha}: budget ({run.left():.0f} s left)")
                continue
            try:
                torch._dynamo.reset()
                model = models.model(cfg.compile_arch, alpha, run.device, dt, mode)
                compiled = torch.compile(model, backend=cfg.compile_backend)
                t0 = time.monotonic()
                step = make_step(compiled, x, mode)
                step()
                _sync(run.device)
                compile_s[alpha] = round(time.monotonic() - t0, 1)
                done[alpha] = compiled
                run.log(f"compiled {mode} α {alpha} in {compile_s[alpha]} s")
            except Exception as e:
                run.record_error(sec, f"compile {mode} α {alpha}", e)
        if 0.0 not in done or len(done) < 2:
            sec["skipped"].append(f"{mode}: not timed (compiled: {sorted(done)})")
            continue
        alphas = tuple(a for a in cfg.compile_alphas if a in done)
        try:
            rows = time_group(
                run, models, cfg.compile_arch, cfg.compile_batch, dt, mode, alphas, True, cfg.compile_backend, done
            )
            for r in rows:
                r["compile_s"] = compile_s[r["alpha"]]
            sec["rows"].extend(rows)
            run.log(f"compiled {mode}: " + ", ".join(f"α {r['alpha']}: {r['speedup']:.2f}x" for r in rows))
        except Exception as e:
            run.record_error(sec, f"compiled {mode} timing", e)
        del done
        free(run.device)
        run.save()


# -- the Markdown summary --------------------------------------------------------------------------------------------


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _speedup_table(rows: list[dict[str, Any]]) -> list[str]:
    alphas = sorted({r["alpha"] for r in rows if r["alpha"] != 0.0})
    head = "| arch | batch | dtype | α = 0 ms | " + " | ".join(f"α {a}: speedup / theory (eff.)" for a in alphas) + " |"
    lines = [head, "|" + "---|" * (4 + len(alphas))]
    groups: dict[tuple[Any, ...], dict[float, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["arch"], r["batch"], r["dtype"]), {})[r["alpha"]] = r
    for (arch, batch, dtype), g in groups.items():
        cells = []
        for a in alphas:
            r = g.get(a)
            cells.append(
                f"{r['speedup']:.2f}× / {r['theory_speedup']:.2f}× ({r['efficiency']:.2f})" if r is not None else "–"
            )
        base = g.get(0.0, {}).get("median_ms")
        lines.append(f"| {arch} | {batch} | {dtype} | {_fmt(base)} | " + " | ".join(cells) + " |")
    return lines


def summary_markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    secs = doc["sections"]
    out = [
        f"# octprof GPU check: {m.get('device_name')}",
        "",
        f"`{doc['command']}` — torch {m.get('torch')}, CUDA {m.get('cuda', '–')}, cuDNN {m.get('cudnn', '–')}, "
        f"{m.get('cpu')} ({m.get('cpu_count')} cores), {doc['elapsed_s']} s of a {doc['budget_s']:.0f} s budget"
        + (" — quick mode (toy sizes, not figures)" if doc["quick"] else ""),
        "",
        "| section | status | seconds | rows | errors / skipped |",
        "|---|---|---|---|---|",
    ]
    for name, s in secs.items():
        out.append(
            f"| {name} | {s['status']} | {s['seconds']} | {len(s['rows'])} | {len(s['errors'])} / {len(s['skipped'])} |"
        )
    for mode, title in (("infer", "Inference"), ("train", "Training (forward + backward + SGD step)")):
        rows = secs.get(mode, {}).get("rows", [])
        if rows:
            out += ["", f"## {title}: speedup over α = 0 (same run) / closed form (efficiency)", ""]
            out += _speedup_table(rows)
    rows = secs.get("compile", {}).get("rows", [])
    if rows:
        out += ["", "## torch.compile", ""]
        for mode in ("infer", "train"):
            mr = [r for r in rows if r["mode"] == mode]
            if mr:
                out += [f"{mode}:", "", *_speedup_table(mr), ""]
                out.append("compile seconds: " + ", ".join(f"α {r['alpha']}: {r['compile_s']}" for r in mr))
                out.append("")
    rows = secs.get("memory", {}).get("rows", [])
    if rows:
        out += [
            "",
            "## Memory: closed form vs max_memory_allocated (MiB)",
            "",
            "| arch | α | infer model | infer measured | ratio | train model | train measured | ratio | saved exact |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            mib = lambda v: _fmt(v / 2**20, 1) if v else "–"  # noqa: E731
            out.append(
                f"| {r['arch']} | {r['alpha']} | {mib(r['model_peak_bytes'])} | {mib(r['measured_peak_bytes'])} | "
                f"{_fmt(r.get('infer_measured_over_model'), 3)} | {mib(r['model_train_peak_bytes'])} | "
                f"{mib(r['measured_train_peak_bytes'])} | {_fmt(r.get('train_measured_over_model'), 3)} | "
                f"{r['observed_saved_bytes'] == r['saved_bytes']} |"
            )
    rows = secs.get("table7", {}).get("rows", [])
    if rows:
        out += [
            "",
            f"## Table 7: training at batch {doc['config']['table7_batch']}, {doc['config']['table7_dtype']}",
            "",
            "| arch | α | measured MiB | reserved MiB | model MiB | paper MB (V100) | step ms | images/s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            out.append(
                f"| {r['arch']} | {r['alpha']} | {_fmt(r.get('measured_mb'), 0)} | {_fmt(r.get('reserved_mb'), 0)} | "
                f"{_fmt(r['model_mb'], 0)} | {_fmt(r.get('paper_mb'))} | {_fmt(r['step_ms'], 1)} | "
                f"{_fmt(r['images_per_s'], 0)} |"
            )
    summ = secs.get("model", {}).get("summary", [])
    if summ:
        out += [
            "",
            "## Latency model on this device",
            "",
            "| points | n | median abs error | Spearman latency | Spearman speedup |",
        ]
        out.append("|---|---|---|---|---|")
        for s in summ:
            out.append(
                f"| {s['points']} | {s['n']} | {100 * s['median_abs_rel_error']:.1f}% | "
                f"{_fmt(s['spearman_latency'], 3)} | {_fmt(s['spearman_speedup'], 3)} |"
            )
    errs = [(n, e) for n, s in secs.items() for e in s["errors"]]
    if errs:
        out += ["", "## Errors", ""] + [f"- {n}: {e}" for n, e in errs]
    return "\n".join(out) + "\n"


def model_from(path: str) -> int:
    """Fill the ``model`` section of a finished run's JSON from its timed rows and its device profile."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    profile = path[: -len(".json")] + "-profile.json"
    timed = [r for name in ("infer", "train") for r in doc["sections"].get(name, {}).get("rows", [])]
    t0 = time.monotonic()
    device = str(doc["machine"].get("device", "cuda"))
    rows, summary, skipped = predict_grid(timed, profile, Models(doc["config"]["input_size"]), device)
    doc["sections"]["model"] = {
        "status": "ok" if rows else "error",
        "seconds": round(time.monotonic() - t0, 1),
        "rows": rows,
        "summary": summary,
        "notes": [f"computed after the run from its timings and {os.path.basename(profile)}: --model-from {path}"],
        "errors": [],
        "skipped": skipped,
    }
    write_atomic(path, json.dumps(doc, indent=1, default=str) + "\n")
    write_atomic(path[: -len(".json")] + ".md", summary_markdown(doc))
    for s in summary:
        print(s, file=sys.stderr)
    return 0


# -- main ------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    p.add_argument("--quick", action="store_true", help="toy sizes: proves every code path in seconds")
    p.add_argument("--budget-s", type=float, default=None, help="time budget in seconds (default 450; quick 120)")
    p.add_argument("--out", default=RESULTS, help="folder for gpu-<device>.json / .md (default benchmarks/results)")
    p.add_argument(
        "--sections",
        default="calibrate,infer,memory,table7,train,model,compile",
        help="comma-separated subset, in this order",
    )
    p.add_argument("--no-cudnn-benchmark", action="store_true", help="leave cudnn.benchmark off (it is on by default)")
    p.add_argument("--tag", default="", help="suffix of the output names (gpu-<device>-<tag>.json)")
    p.add_argument("--compile-estimate-s", type=float, default=None, help="seconds one compile is expected to take")
    p.add_argument(
        "--model-from",
        metavar="JSON",
        help="no measuring: predict the timed rows of an earlier run's JSON with its device profile (the model "
        "section needs no device) and write the section into that JSON and its summary",
    )
    args = p.parse_args(argv)
    if args.model_from:
        return model_from(args.model_from)
    device = check_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    cfg = quick(device) if args.quick else full(device)
    cfg.extra["models"] = Models(cfg.input_size)
    if args.compile_estimate_s is not None:
        cfg.compile_estimate_s = args.compile_estimate_s
    budget = args.budget_s if args.budget_s is not None else (120.0 if args.quick else 450.0)
    run = Run(device, cfg, budget, args.out, args.quick, args.tag)
    run.command = " ".join(["python benchmarks/gpu.py", *(argv if argv is not None else sys.argv[1:])])
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    table = {
        "calibrate": (section_calibrate, 0.0),
        "infer": (grid_section("infer"), 0.0),
        "memory": (section_memory, 10.0),
        "table7": (section_table7, 20.0),
        "train": (grid_section("train"), 10.0),
        "model": (section_model, 0.0),
        "compile": (section_compile, 0.0),
    }
    unknown = [s for s in wanted if s not in table]
    if unknown:
        p.error(f"--sections: unknown {', '.join(unknown)}; allowed: {', '.join(table)}")
    run.log(
        f"{run.machine.get('device_name')} · torch {torch.__version__} · budget {budget:.0f} s · out {run.json_path}"
    )
    run.save()
    with contextlib.suppress(KeyboardInterrupt):
        for name in wanted:
            fn, needs = table[name]
            run_section(run, name, fn, needs)
    run.save()
    with open(run.md_path, encoding="utf-8") as fh:
        print(fh.read())
    bad = [n for n, s in run.sections.items() if s["status"] == "error"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
