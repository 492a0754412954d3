"""Third-party networks, priced as they exist: the engine of ``timm_sweep.py`` and ``torchvision_sweep.py``, which
hold the model lists.  Each model is checked at α ∈ {0, 0.5}.

Every model runs in its own subprocess, with a timeout (one model's crash, hang or memory blow-up never stops the
sweep), on one thread.  At each α the model is classified:

- ``EXACT``: octprof's total macs == ``octprof.crosscheck.flop_counter()`` / 2 on the built octave network (run for
  real on CPU), its parameters == the priced parameters, and at α = 0 the output is ``torch.equal`` to the
  original's and the priced parameters == the original's (the check of ``tests/test_timm.py``, model by model);
- ``UNPRICED``: the same checks hold, but some ops have no rule (their kinds are listed; totals exclude them, as
  octprof warns);
- ``REFUSED``: octprof refused the network with an ``OctprofError`` (its one line is recorded);
- ``MISMATCH``: a check failed (both numbers are recorded);
- ``CRASH``: any other exception (its last lines are recorded);
- ``TIMEOUT``: the subprocess ran past ``--timeout`` seconds.

At α = 0.5 a network where no convolution became an octave layer is flagged ``no conv octave`` (its vanilla reasons
say why: e.g. a ViT's only conv is its stem); that is a fact about the network, not a failure.

Each sweep writes ``SOURCE_sweep.json`` (every field, plus the machine: cpu, cores, python, torch, timm,
torchvision, date) and ``SOURCE_sweep.md`` (one row per model, then the counts per class), both rewritten atomically
after every model, so an interrupted sweep leaves the models it finished.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ALPHAS = (0.0, 0.5)
CLASSES = ("EXACT", "UNPRICED", "REFUSED", "MISMATCH", "CRASH", "TIMEOUT")


def _tail(n: int = 6) -> str:
    """The last ``n`` lines of the exception being handled."""
    return "\n".join(traceback.format_exc().strip().splitlines()[-n:])


def _first_line(e: BaseException) -> str:
    """A refusal's one line (its repr when it has no text)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else repr(e)


def check_alpha(net: Any, alpha: float, x: Any) -> dict[str, Any]:
    """One α of one traced network: price it, build and run the octave network, compare (see the docstring)."""
    import warnings

    import torch

    from octprof.analysis import UnpricedWarning
    from octprof.core.errors import OctprofError
    from octprof.crosscheck import flop_counter

    r: dict[str, Any] = {}
    t0 = time.perf_counter()
    stage = "analyze"
    try:
        a = net.analyze(alpha)
        stage = "total"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnpricedWarning)
            t = a.total()
        r["unpriced"] = a.unpriced_counts()
        r["conv_summary"] = a.conv_summary()
        r["octave_convs"] = len(a.plan.octave_layers())
        r["convs"] = len(a.plan.convs)
        r["refusals"] = len(a.refusals())
        stage = "octify"
        octave = a.octify()
        stage = "run"
        with torch.no_grad(), flop_counter() as fc:
            out = octave(x)
        stage = "compare"
        flops = int(fc.get_total_flops())
        oparams = sum(p.numel() for p in octave.parameters())
        r.update(macs=int(t["macs"]), params=int(t["params"]), counter_flops=flops, octave_params=oparams)
        bad = []
        if flops != 2 * t["macs"]:
            bad.append(f"counter flops {flops} != 2 x macs {2 * t['macs']} (diff {flops - 2 * t['macs']})")
        if oparams != t["params"]:
            bad.append(f"octave network params {oparams} != priced params {t['params']}")
        if alpha == 0.0:
            mparams = sum(p.numel() for p in a.model.parameters())
            if mparams != t["params"]:
                bad.append(f"original params {mparams} != priced params {t['params']}")
            with torch.no_grad():
                ref = a.model(x)
            if not torch.equal(out, ref):
                diff = (out - ref).abs().max().item() if out.shape == ref.shape else f"{out.shape} vs {ref.shape}"
                bad.append(f"α=0 output not equal to the original's (max |diff| {diff})")
        else:
            r["no_conv_octave"] = not a.plan.octave_layers()
        r["bad"] = bad
        r["status"] = "MISMATCH" if bad else ("UNPRICED" if r["unpriced"] else "EXACT")
    except OctprofError as e:
        r.update(status="REFUSED", msg=_first_line(e), stage=stage)
    except Exception:
        r.update(status="CRASH", msg=_tail(), stage=stage)
    r["secs"] = round(time.perf_counter() - t0, 1)
    return r


def check_model(arch: str, size: Any, alphas: tuple[float, ...] = ALPHAS) -> dict[str, Any]:
    """One model (``timm:NAME``, ``torchvision:NAME``; ``size`` an int or a clip's (frames, height, width)), in this
    process: trace it once, then :func:`check_alpha` at each α.  ``{"alphas": {"0.0": {...},
    "0.5": {...}}, "trace_s": ...}``; a refusal or crash while tracing is that class at every α."""
    import torch

    from octprof.analysis import Network
    from octprof.core.errors import OctprofError

    res: dict[str, Any] = {"name": arch.split(":", 1)[-1], "size": size, "alphas": {}}
    t0 = time.perf_counter()
    try:
        torch.manual_seed(0)
        net = Network(arch, input_size=tuple(size) if isinstance(size, list) else size)
    except OctprofError as e:
        res["alphas"] = {str(a): {"status": "REFUSED", "msg": _first_line(e), "stage": "trace"} for a in alphas}
        return res
    except Exception:
        res["alphas"] = {str(a): {"status": "CRASH", "msg": _tail(), "stage": "trace"} for a in alphas}
        return res
    res["trace_s"] = round(time.perf_counter() - t0, 1)
    res["input_shape"] = list(net.captured.input_shape)
    x = torch.randn(net.captured.input_shape, generator=torch.Generator().manual_seed(1))
    for a in alphas:
        res["alphas"][str(a)] = check_alpha(net, a, x)
    return res


def run_one(
    source: str, family: str, name: str, size: Any, note: str, timeout: float, skipped: dict[str, str]
) -> dict[str, Any]:
    """:func:`check_model` in a subprocess (this file with ``--child``), with a timeout."""
    row: dict[str, Any] = {"family": family, "name": name, "size": size, "note": note}
    if name in skipped:
        row.update(skipped=skipped[name], alphas={})
        return row
    cmd = [sys.executable, os.path.abspath(__file__), "--child", f"{source}:{name}", json.dumps(size)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        row["alphas"] = {str(a): {"status": "TIMEOUT", "msg": f"ran past {timeout:g} s"} for a in ALPHAS}
        return row
    row["wall_s"] = round(time.perf_counter() - t0, 1)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-6:])
        msg = f"subprocess exited {p.returncode} without a result: {tail}"
        row["alphas"] = {str(a): {"status": "CRASH", "msg": msg, "stage": "subprocess"} for a in ALPHAS}
        return row
    got = json.loads(lines[-1][len("RESULT ") :])
    got.pop("name", None)
    got.pop("size", None)
    row.update(got)
    return row


def machine() -> dict[str, Any]:
    """octprof's description of the machine (``octprof.machine.machine_info``), with timm's and torchvision's
    versions and the date."""
    import importlib

    from octprof.machine import machine_info

    def version(module: str) -> str | None:
        try:
            return importlib.import_module(module).__version__
        except ImportError:
            return None

    info = machine_info()
    info.update(
        cores=info["cpu_count"],
        timm=version("timm"),
        torchvision=version("torchvision"),
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return info


def _cell(r: dict[str, Any]) -> str:
    s = r.get("status", "?")
    if s == "UNPRICED":
        kinds = ", ".join(f"{k} ×{c}" for k, c in sorted(r["unpriced"].items(), key=lambda kv: (-kv[1], kv[0])))
        s = f"UNPRICED: {kinds}"
    elif s == "MISMATCH":
        s = "MISMATCH: " + "; ".join(r["bad"])
    elif s in ("REFUSED", "CRASH", "TIMEOUT"):
        msg = r.get("msg", "").strip().splitlines()
        s = f"{s} ({r['stage']})" if r.get("stage") else s
        s += ": " + (msg[-1] if msg else "")
    if r.get("no_conv_octave"):
        s += " (no conv octave)"
    return s.replace("|", "\\|")


def _fmt_macs(m: int | None) -> str:
    return "" if m is None else f"{m / 1e6:,.1f} M"


def counts(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Models per class at each α."""
    out: dict[str, dict[str, int]] = {}
    for a in ALPHAS:
        c = dict.fromkeys(CLASSES, 0)
        for row in rows:
            s = row["alphas"].get(str(a), {}).get("status")
            if s:
                c[s] = c.get(s, 0) + 1
        out[str(a)] = c
    return out


def markdown(source: str, rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    lines = [
        f"# octprof {source} sweep",
        "",
        f"{info['date']}; {info['cpu']}, {info['cores']} cores; torch {info['torch']}, {source} {info[source]}; "
        f"one thread, one model at a time, {info['timeout_s']:g} s per model.  "
        f"Written by `benchmarks/{source}_sweep.py`.",
        "",
        "MACs at α = 0 (M = 10⁶, totals exclude unpriced ops); octave convs and their vanilla reasons at α = 0.5;"
        " s: wall seconds of the model's subprocess.",
        "",
        "| family | model | input | α 0 | α .5 | MACs α 0 | macs α .5 / α 0 | octave convs at .5 | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        fam = row["family"] + (f" ({row['note']})" if row.get("note") else "")
        if row.get("skipped"):
            lines.append(f"| {fam} | {row['name']} | {row['size']} | skipped: {row['skipped']} | | | | | |")
            continue
        r0, r5 = row["alphas"].get("0.0", {}), row["alphas"].get("0.5", {})
        ratio = f"{r5['macs'] / r0['macs']:.3f}" if r0.get("macs") and r5.get("macs") is not None else ""
        lines.append(
            f"| {fam} | {row['name']} | {row['size']} | {_cell(r0)} | {_cell(r5)} | {_fmt_macs(r0.get('macs'))} | "
            f"{ratio} | {r5.get('conv_summary', '')} | {row.get('wall_s', '')} |"
        )
    lines.append("")
    for a, c in counts(rows).items():
        lines.append(f"α = {a}: " + ", ".join(f"{k} {v}" for k, v in c.items()) + f" (of {len(rows)} models)")
    if info.get("sweep_s") is not None:
        lines.append(f"\nsweep wall time: {info['sweep_s']:.0f} s")
    if info.get("rerun"):
        lines.append(f"\nrerun on {info['date']} (`--only ... --merge`): {', '.join(info['rerun'])}")
    return "\n".join(lines) + "\n"


def write(source: str, out: str, rows: list[dict[str, Any]], info: dict[str, Any]) -> None:
    from octprof.core.fmt import write_atomic

    for row in rows:
        r0, r5 = row["alphas"].get("0.0", {}), row["alphas"].get("0.5", {})
        row["macs_alpha0"] = r0.get("macs")
        row["macs_ratio"] = r5["macs"] / r0["macs"] if r0.get("macs") and r5.get("macs") is not None else None
    data = {"machine": info, "alphas": list(ALPHAS), "counts": counts(rows), "models": rows}
    write_atomic(os.path.join(out, f"{source}_sweep.json"), json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    write_atomic(os.path.join(out, f"{source}_sweep.md"), markdown(source, rows, info))


Model = tuple[str, str, Any, str]  # (family, name, input size, note)


def main(source: str, models: list[Model], skipped: dict[str, str], doc: str, argv: list[str] | None = None) -> int:
    """The sweep of ``models`` from ``source`` (``timm`` or ``torchvision``); ``skipped`` names models listed but not
    run, with the reason."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--only", default="", help=f"comma-separated {source} names (default: every model of the list)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output folder (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per model (default: %(default)s)")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other models' rows of the results already in --out (rerun only the --only models)",
    )
    args = ap.parse_args(argv)
    from octprof.progress import progress

    full = models
    if args.only:
        want = [n.strip() for n in args.only.split(",") if n.strip()]
        known = {m[1] for m in models}
        unknown = [n for n in want if n not in known]
        if unknown:
            ap.error(f"--only: not in the list: {', '.join(unknown)}")
        models = [m for m in models if m[1] in want]
    os.makedirs(args.out, exist_ok=True)
    info = machine()
    info["timeout_s"] = args.timeout
    info["sweep_s"] = None
    kept: dict[str, dict[str, Any]] = {}
    if args.merge:
        path = os.path.join(args.out, f"{source}_sweep.json")
        if not os.path.exists(path):
            ap.error(f"--merge: no results to merge into at {path}")
        with open(path, encoding="utf-8") as f:
            before = json.load(f)
        kept = {row["name"]: row for row in before["models"]}
        info["sweep_s"] = before["machine"].get("sweep_s")  # the full sweep's
        info["rerun"] = [m[1] for m in models]
    order = [m[1] for m in full]
    rows: list[dict[str, Any]] = []
    merged: list[dict[str, Any]] = list(kept.values())
    t0 = time.perf_counter()
    with progress(total=len(models), desc=f"{source} sweep", unit="model") as bar:
        for family, name, size, note in models:
            bar.set_postfix_str(name)
            row = run_one(source, family, name, size, note, args.timeout, skipped)
            rows.append(row)
            kept.pop(name, None)
            st = "/".join(row["alphas"].get(str(a), {}).get("status", "-") for a in ALPHAS)
            print(f"{name} {size}: {st} ({row.get('wall_s', 0)} s)", flush=True)
            if not args.merge:
                info["sweep_s"] = time.perf_counter() - t0
            merged = sorted([*rows, *kept.values()], key=lambda r: order.index(r["name"]) if r["name"] in order else 0)
            write(source, args.out, merged, info)
            bar.update()
    print(json.dumps(counts(merged)), flush=True)
    return 0


def child(argv: list[str]) -> int:
    """``sweep.py --child ARCH SIZE``: one model in this process; prints ``RESULT {json}``."""
    import torch

    torch.set_num_threads(1)  # one model at a time, on one thread: the sweep shares the machine
    arch, size = argv
    res = check_model(arch, json.loads(size))
    print("RESULT " + json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit("sweep.py is the engine: run benchmarks/timm_sweep.py or benchmarks/torchvision_sweep.py")
