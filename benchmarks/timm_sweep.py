"""Third-party networks, priced as they exist: a reproducible sweep of timm families at α ∈ {0, 0.5}.

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

    PYTHONPATH=. python benchmarks/timm_sweep.py                    # all models -> benchmarks/results/
    PYTHONPATH=. python benchmarks/timm_sweep.py --only resnet10t,vit_tiny_patch16_224 --out /tmp/sweep
    PYTHONPATH=. python benchmarks/timm_sweep.py --timeout 300

writes ``timm_sweep.json`` (every field, plus the machine: cpu, cores, python, torch, timm, date) and
``timm_sweep.md`` (one row per model, then the counts per class), both rewritten atomically after every model, so
an interrupted sweep leaves the models it finished.
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
SUITE = "also in the suite"  # the note of the 24 models tests/test_timm.py checks too

# (family, timm name, input size, note): the families of the first hand sweep, then tests/test_timm.py's SAMPLE.
# Small inputs keep the sweep short; transformers with fixed position embeddings or windows get their native size.
MODELS: list[tuple[str, str, int, str]] = [
    ("MNASNet", "mnasnet_small", 64, ""),
    ("SPNASNet", "spnasnet_100", 64, ""),
    ("FBNet", "fbnetc_100", 64, ""),
    ("TinyNet", "tinynet_e", 64, ""),
    ("LCNet", "lcnet_050", 64, ""),
    ("HardCoReNAS", "hardcorenas_a", 64, ""),
    ("TF-MixNet", "tf_mixnet_s", 64, ""),
    ("EfficientNet", "efficientnet_b0", 64, ""),
    ("EfficientNetV2", "efficientnetv2_rw_t", 64, ""),
    ("NF-ResNet", "nf_resnet26", 64, ""),
    ("RegNetZ", "regnetz_b16", 64, ""),
    ("TResNet", "tresnet_m", 128, ""),
    ("CSPDarknet", "cspdarknet53", 64, ""),
    ("Darknet", "darknet17", 64, ""),
    ("CS3Darknet", "cs3darknet_s", 64, ""),
    ("Inception-v4", "inception_v4", 96, ""),
    ("Inception-ResNet-v2", "inception_resnet_v2", 96, ""),
    ("ResNet-T", "resnet26t", 64, ""),
    ("ResNet-RS", "resnetrs50", 64, ""),
    ("ResNet-blur", "resnetblur18", 64, ""),
    ("ResNetV2", "resnetv2_50", 64, ""),
    ("BoTNet", "sebotnet33ts_256", 256, ""),
    ("HaloNet", "halonet26t", 256, ""),
    ("LambdaNet", "lambda_resnet26t", 256, ""),
    ("ECA-ResNet", "eca_resnet33ts", 64, ""),
    ("GC-ResNet", "gcresnet33ts", 64, ""),
    ("Xception-tf", "xception41", 96, ""),
    ("EdgeNeXt", "edgenext_xx_small", 64, ""),
    ("PoolFormer", "poolformer_s12", 64, ""),
    ("MobileViT", "mobilevit_xxs", 64, ""),
    ("EfficientFormer", "efficientformer_l1", 224, ""),
    ("LeViT", "levit_128s", 224, ""),
    ("PiT", "pit_ti_224", 224, ""),
    ("ViT", "vit_tiny_patch16_224", 224, ""),
    ("Swin", "swin_tiny_patch4_window7_224", 224, ""),
    ("CoaT", "coat_lite_tiny", 224, ""),
    ("ConViT", "convit_tiny", 224, ""),
    ("CrossViT", "crossvit_tiny_240", 240, ""),
    ("MLP-Mixer", "mixer_s32_224", 224, ""),
    ("ResMLP", "resmlp_12_224", 224, ""),
    ("gMLP", "gmlp_ti16_224", 224, ""),
    ("RepViT", "repvit_m1", 64, ""),
    ("FastViT", "fastvit_t8", 64, ""),
    ("EfficientViT", "efficientvit_b0", 64, ""),
    ("EfficientViT-M", "efficientvit_m0", 224, ""),
    ("GhostNetV2", "ghostnetv2_100", 64, ""),
    ("HGNet", "hgnet_tiny", 64, ""),
    ("HGNetV2", "hgnetv2_b0", 64, ""),
    ("MambaOut", "mambaout_femto", 64, ""),
    ("StarNet", "starnet_s1", 64, ""),
    ("MobileNetV4", "mobilenetv4_conv_small", 64, ""),
    ("MobileOne", "mobileone_s0", 64, ""),
    ("VGG", "vgg11", 64, ""),
    ("ConvMixer", "convmixer_768_32", 64, ""),
    ("MobileNetV1", "mobilenetv1_100", 64, ""),
    ("MobileNetV2", "mobilenetv2_035", 64, ""),
    ("FasterNet", "fasternet_t0", 64, ""),
    ("SHViT", "shvit_s1", 224, ""),
    ("InceptionNeXt", "inception_next_tiny", 64, ""),
    ("RDNet", "rdnet_tiny", 64, ""),
    ("PoolFormerV2", "poolformerv2_s12", 64, ""),
    ("ConvFormer", "convformer_s18", 64, ""),
    ("SKResNeXt", "skresnext50_32x4d", 64, ""),
    ("SENet", "senet154", 64, ""),
    ("ResNeXt-ts", "resnext26ts", 64, ""),
    ("ByobNet-BAT", "bat_resnext26ts", 256, ""),
    ("Wide-ResNet", "wide_resnet50_2", 64, ""),
    ("VoVNet-a", "vovnet39a", 64, ""),
    ("CSPResNeXt", "cspresnext50", 64, ""),
    ("TF-EfficientNet", "tf_efficientnet_b0", 64, ""),
    ("DLA-c", "dla46_c", 64, ""),
    ("ResNet10t", "resnet10t", 64, ""),
    ("TinyViT", "tiny_vit_5m_224", 224, ""),
    ("FocalNet", "focalnet_tiny_srf", 224, ""),
    ("Visformer", "visformer_tiny", 224, ""),
    ("Sequencer", "sequencer2d_s", 224, ""),
    ("XCiT", "xcit_nano_12_p16_224", 224, ""),
    ("CoAtNet", "coatnet_nano_rw_224", 224, ""),
    ("MaxViT", "maxvit_nano_rw_256", 256, ""),
    ("GCViT", "gcvit_xxtiny", 224, ""),
    ("DaViT", "davit_tiny", 224, ""),
    ("Twins", "twins_svt_small", 224, ""),
    ("NesT", "nest_tiny", 224, ""),
    ("CaiT", "cait_xxs24_224", 224, ""),
    ("VOLO", "volo_d1_224", 224, ""),
    ("EfficientFormerV2", "efficientformerv2_s0", 224, ""),
    ("MobileViTv2", "mobilevitv2_050", 64, ""),
    # tests/test_timm.py's SAMPLE
    ("ResNet-D", "resnet18d", 64, SUITE),
    ("SE-ResNet", "seresnet18", 64, SUITE),
    ("SK-ResNet", "skresnet18", 64, SUITE),
    ("Res2Net", "res2net50_14w_8s", 64, SUITE),
    ("CSP", "cspresnet50", 64, SUITE),
    ("DPN", "dpn68", 64, SUITE),
    ("DLA", "dla34", 64, SUITE),
    ("GhostNet", "ghostnet_100", 64, SUITE),
    ("ReXNet", "rexnet_100", 64, SUITE),
    ("MixNet", "mixnet_s", 64, SUITE),
    ("RegNetX", "regnetx_002", 64, SUITE),
    ("RegNetY", "regnety_002", 64, SUITE),
    ("HRNet", "hrnet_w18_small", 96, SUITE),
    ("ConvNeXt", "convnext_atto", 96, SUITE),
    ("EfficientNet-lite", "efficientnet_lite0", 96, SUITE),
    ("VoVNet", "ese_vovnet19b_dw", 96, SUITE),
    ("ResNeSt", "resnest14d", 96, SUITE),
    ("MobileNetV3", "mobilenetv3_small_100", 96, SUITE),
    ("DenseNet", "densenet121", 96, SUITE),
    ("SelecSLS", "selecsls42b", 96, SUITE),
    ("GENet", "gernet_s", 96, SUITE),
    ("RepVGG", "repvgg_a0", 96, SUITE),
    ("Xception", "legacy_xception", 96, SUITE),
    ("Inception", "inception_v3", 96, SUITE),
]

# Models listed but not run, with the reason (too slow or too big for the sweep's budget).  None at present: a
# model that runs past --timeout is reported TIMEOUT instead.
SKIPPED: dict[str, str] = {}


def _tail(n: int = 6) -> str:
    """The last ``n`` lines of the exception being handled."""
    return "\n".join(traceback.format_exc().strip().splitlines()[-n:])


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
        r.update(status="REFUSED", msg=str(e).strip().splitlines()[0] if str(e).strip() else repr(e), stage=stage)
    except Exception:
        r.update(status="CRASH", msg=_tail(), stage=stage)
    r["secs"] = round(time.perf_counter() - t0, 1)
    return r


def check_model(name: str, size: int, alphas: tuple[float, ...] = ALPHAS) -> dict[str, Any]:
    """One model, in this process: trace it once, then :func:`check_alpha` at each α.  ``{"alphas": {"0.0": {...},
    "0.5": {...}}, "trace_s": ...}``; a refusal or crash while tracing is that class at every α."""
    import torch

    from octprof.analysis import Network
    from octprof.core.errors import OctprofError

    res: dict[str, Any] = {"name": name, "size": size, "alphas": {}}
    t0 = time.perf_counter()
    try:
        torch.manual_seed(0)
        net = Network(f"timm:{name}", input_size=size)
    except OctprofError as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        res["alphas"] = {str(a): {"status": "REFUSED", "msg": msg, "stage": "trace"} for a in alphas}
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


def run_one(family: str, name: str, size: int, note: str, timeout: float) -> dict[str, Any]:
    """:func:`check_model` in a subprocess (this file with ``--child``), with a timeout."""
    row: dict[str, Any] = {"family": family, "name": name, "size": size, "note": note}
    if name in SKIPPED:
        row.update(skipped=SKIPPED[name], alphas={})
        return row
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, str(size)]
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
    """octprof's description of the machine (``octprof.machine.machine_info``), with timm's version and the date."""
    from octprof.machine import machine_info

    try:
        import timm

        timm_version = timm.__version__
    except ImportError:
        timm_version = None
    info = machine_info()
    info.update(
        cores=info["cpu_count"],
        timm=timm_version,
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


def markdown(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    lines = [
        "# octprof timm sweep",
        "",
        f"{info['date']}; {info['cpu']}, {info['cores']} cores; torch {info['torch']}, timm {info['timm']}; "
        f"one thread, one model at a time, {info['timeout_s']:g} s per model.  "
        "Written by `benchmarks/timm_sweep.py`.",
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
    return "\n".join(lines) + "\n"


def write(out: str, rows: list[dict[str, Any]], info: dict[str, Any]) -> None:
    from octprof.core.fmt import write_atomic

    for row in rows:
        r0, r5 = row["alphas"].get("0.0", {}), row["alphas"].get("0.5", {})
        row["macs_alpha0"] = r0.get("macs")
        row["macs_ratio"] = r5["macs"] / r0["macs"] if r0.get("macs") and r5.get("macs") is not None else None
    data = {"machine": info, "alphas": list(ALPHAS), "counts": counts(rows), "models": rows}
    write_atomic(os.path.join(out, "timm_sweep.json"), json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    write_atomic(os.path.join(out, "timm_sweep.md"), markdown(rows, info))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated timm names (default: every model of the list)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output folder (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per model (default: %(default)s)")
    ap.add_argument("--child", nargs=2, metavar=("NAME", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        import torch

        torch.set_num_threads(1)  # one model at a time, on one thread: the sweep shares the machine
        res = check_model(args.child[0], int(args.child[1]))
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    from octprof.progress import progress

    models = MODELS
    if args.only:
        want = [n.strip() for n in args.only.split(",") if n.strip()]
        known = {m[1] for m in MODELS}
        unknown = [n for n in want if n not in known]
        if unknown:
            ap.error(f"--only: not in the list: {', '.join(unknown)}")
        models = [m for m in MODELS if m[1] in want]
    os.makedirs(args.out, exist_ok=True)
    info = machine()
    info["timeout_s"] = args.timeout
    info["sweep_s"] = None
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with progress(total=len(models), desc="timm sweep", unit="model") as bar:
        for family, name, size, note in models:
            bar.set_postfix_str(name)
            row = run_one(family, name, size, note, args.timeout)
            rows.append(row)
            st = "/".join(row["alphas"].get(str(a), {}).get("status", "-") for a in ALPHAS)
            print(f"{name} {size}: {st} ({row.get('wall_s', 0)} s)", flush=True)
            info["sweep_s"] = time.perf_counter() - t0
            write(args.out, rows, info)
            bar.update()
    print(json.dumps(counts(rows)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
