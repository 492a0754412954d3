"""The zoo's vanilla networks and the paper's published numbers."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

import octprof.data
from octprof.zoo import create_model, get_entry, list_models

NAMES = [
    "resnet26",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet200",
    "se_resnet50",
    "resnext50_32x4d",
    "resnext101_32x4d",
    "densenet121",
    "mobilenet_v1",
    "mobilenet_v1_075",
    "mobilenet_v2",
    "mobilenet_v2_1125",
    "resnet152_v1f",
    "se_resnet152_v1e",
    "i3d_resnet50",
    "c2d_resnet50",
]

CSV = Path(octprof.data.__file__).with_name("paper_results.csv")
COLUMNS = ["source", "table", "arch", "alpha", "input_size", "gflops", "params_m", "top1", "top5", "notes"]


def params(model: nn.Module, kinds: tuple[type[nn.Module], ...] | None = None) -> int:
    """All parameters, or only those of modules of the given kinds."""
    if kinds is None:
        return sum(p.numel() for p in model.parameters())
    modules = [m for m in model.modules() if isinstance(m, kinds)]
    return sum(p.numel() for m in modules for p in m.parameters(recurse=False))


def on_meta(build):
    # parameter counts only: skip weight initialisation
    with torch.device("meta"):
        return build()


# --- registry and forward pass -------------------------------------------------------------------------------


def test_registry_lists_the_paper_architectures():
    assert list_models() == NAMES
    assert list_models("resnext*") == ["resnext50_32x4d", "resnext101_32x4d"]


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match="resnet50"):
        get_entry("resnet51")


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_class_scores(name):
    entry = get_entry(name)
    model = create_model(name)
    assert not model.training
    video = not isinstance(entry.input_size, int)
    # a video entry takes a clip (kept small here: the network is fully convolutional up to its global pool)
    x = torch.randn(1, 3, 4, 32, 32) if video else torch.randn(1, 3, entry.input_size, entry.input_size)
    with torch.inference_mode():
        assert model(x).shape == (1, 400 if video else 1000)


@pytest.mark.parametrize("name", NAMES)
def test_traces_and_presets_name_real_convolutions(name):
    entry = get_entry(name)
    model = on_meta(entry.create)
    torch.fx.symbolic_trace(model)  # the planner traces the vanilla network
    convs = {k: m for k, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))}
    for pattern in entry.vanilla + tuple(p for p, _ in entry.alpha_overrides):
        assert any(fnmatch.fnmatchcase(k, pattern) for k in convs), pattern
    for pattern in entry.stride_pool:
        hits = [m for k, m in convs.items() if fnmatch.fnmatchcase(k, pattern)]
        assert hits and all(m.stride[-2:] == (2, 2) for m in hits), pattern
        # a stride_pool conv is vanilla in and out: it also matches a vanilla pattern
        assert any(fnmatch.fnmatchcase(k, v) for k in convs for v in entry.vanilla if fnmatch.fnmatchcase(k, pattern))


# --- parameter counts against references ----------------------------------------------------------------------

TORCHVISION_RESNETS = {
    "resnet26": lambda: ResNet(Bottleneck, [2, 2, 2, 2]),
    "resnet50": torchvision.models.resnet50,
    "resnet101": torchvision.models.resnet101,
    "resnet152": torchvision.models.resnet152,
    "resnet200": lambda: ResNet(Bottleneck, [3, 24, 36, 3]),
    "resnext50_32x4d": torchvision.models.resnext50_32x4d,
    # torchvision has no 32x4d ResNeXt-101; the same class with groups 32, width 4 per group
    "resnext101_32x4d": lambda: ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=4),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_RESNETS))
def test_preact_convolutions_equal_torchvision(name):
    # Pre-activation moves the BNs but keeps every conv and the classifier: torchvision's ResNet (v1.5, stride
    # on the 3x3 conv, 1x1 projection in each stage's first block) has the same conv/fc shapes.
    ours = on_meta(lambda: create_model(name))
    reference = on_meta(TORCHVISION_RESNETS[name])
    kinds = (nn.Conv2d, nn.Linear)
    assert params(ours, kinds) == params(reference, kinds)


def test_preact_resnet50_total():
    # conv + fc: torchvision resnet50 25,557,032 - its BN params 2 * 26,560 = 25,503,912.
    # BN channels of the pre-activation net: stem 64; layer1 64+64+64+64 (block 1, with the shortcut BN) +
    # 2 * (256+64+64) = 1,024; layer2 768 + 3 * 768 = 3,072; layer3 1,536 + 5 * 1,536 = 9,216;
    # layer4 3,072 + 2 * 3,072 = 9,216; final 2,048  ->  24,640 channels, 49,280 params.
    assert params(on_meta(lambda: create_model("resnet50"))) == 25_503_912 + 49_280 == 25_553_192


def test_se_resnet50_adds_the_se_gates():
    # SE(C) with hidden C/16, both 1x1 convs with bias: C*C/16 + C/16 + C/16*C + C.
    # 3 * SE(256) + 4 * SE(512) + 6 * SE(1024) + 3 * SE(2048)
    # = 3 * 8,464 + 4 * 33,312 + 6 * 132,160 + 3 * 526,464 = 2,530,992
    se = params(on_meta(lambda: create_model("se_resnet50")))
    plain = params(on_meta(lambda: create_model("resnet50")))
    assert se - plain == 2_530_992


def test_densenet121_equals_torchvision():
    # Same layers (BN-ReLU-conv dense layers, growth 32, bn_size 4, compression 0.5, classifier with bias).
    ours = on_meta(lambda: create_model("densenet121"))
    assert params(ours) == params(on_meta(torchvision.models.densenet121)) == 7_978_856


def test_mobilenet_v2_is_torchvision_plus_the_t1_expansion():
    # The official Gluon MobileNet v2 also gives the t = 1 first block a 1x1 expansion conv (32 -> 32) with
    # its BN: 32 * 32 + 2 * 32 = 1,088 params more than torchvision's mobilenet_v2 (no dropout has no params).
    ours = on_meta(lambda: create_model("mobilenet_v2"))
    assert params(ours) == params(on_meta(torchvision.models.mobilenet_v2)) + 1_088 == 3_505_960


def test_mobilenet_v1_equals_the_published_count():
    # stem 3*32*9 = 864; depthwise 9 * 4,960 = 44,640; pointwise 3,139,584; BN 2 * 10,944 = 21,888;
    # classifier 1024 * 1000 + 1000 = 1,025,000  ->  4,231,976, the usual MobileNet-224 1.0 count.
    assert params(on_meta(lambda: create_model("mobilenet_v1"))) == 4_231_976


def test_gluon_resnet152_v1f_stem():
    # torchvision resnet152 60,192,808 - its 7x7 stem conv + BN (9,408 + 128)
    # + deep stem 3->8->32->64 with BNs (216+16 + 2,304+64 + 18,432+128 = 21,160)
    # + stem bottleneck 64->32->32->64 with 1x1/2 projection and BNs
    #   (2,048+64 + 9,216+64 + 2,048+128 + 4,096+128 = 17,792).  The stride position changes no parameter.
    ours = params(on_meta(lambda: create_model("resnet152_v1f")))
    assert ours == params(on_meta(torchvision.models.resnet152)) - 9_536 + 21_160 + 17_792 == 60_222_224


def test_gluon_se_resnet152_v1e():
    # torchvision resnet152 - 9,536 + deep stem 3->32->32->64 (864+64 + 9,216+64 + 18,432+128 = 28,768)
    # + SE gates 3 * 8,464 + 8 * 33,312 + 36 * 132,160 + 3 * 526,464 = 6,629,040; the extra BNs have no affine.
    ours = params(on_meta(lambda: create_model("se_resnet152_v1e")))
    assert ours == params(on_meta(torchvision.models.resnet152)) - 9_536 + 28_768 + 6_629_040 == 66_841_080


@pytest.mark.parametrize(
    ("name", "millions"),
    [("mobilenet_v1_075", 2.6), ("mobilenet_v2_1125", 4.2), ("resnext50_32x4d", 25.0), ("resnext101_32x4d", 44.2)],
)
def test_width_variants_round_to_the_paper(name, millions):
    # OctConv keeps the parameter count, so the paper's #Params (one decimal) holds for the vanilla net
    assert round(params(on_meta(lambda: create_model(name))) / 1e6, 1) == millions


# --- the paper's numbers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paper():
    return pd.read_csv(CSV, dtype={"source": str, "table": str, "arch": str, "notes": str})


def test_paper_csv_columns_and_names(paper):
    assert list(paper.columns) == COLUMNS
    assert set(paper["arch"]) <= set(NAMES)
    assert paper["source"].notna().all() and paper["table"].notna().all()
    assert not paper.duplicated(["table", "arch", "alpha", "input_size"]).any()


def test_paper_csv_numbers_parse(paper):
    for column in ("alpha", "input_size", "gflops", "params_m", "top1", "top5"):
        assert pd.api.types.is_numeric_dtype(paper[column]), column
    assert paper["alpha"].between(0, 1).all()
    assert paper["input_size"].isin([224, 320]).all()
    assert paper["top1"].between(50, 100).all()
    assert paper["gflops"].dropna().gt(0).all()
    # every row carries a count or an accuracy
    assert (paper["gflops"].notna() | paper["top1"].notna()).all()
    assert paper[paper["table"] != "Figure 4"]["gflops"].notna().all()


def test_paper_resnet50_table2(paper):
    rows = paper[(paper["table"] == "Table 2")].set_index("alpha")
    assert rows.loc[0.0, "gflops"] == 4.1 and rows.loc[0.5, "gflops"] == 2.4


@pytest.mark.parametrize("name", ["i3d_resnet50", "c2d_resnet50"])
def test_video_entries_price_exactly_on_small_clips(name):
    """The zoo's video networks (3-D convolutions, time kept in the low part): on a 4x32x32 clip the built octave
    network counts exactly what the closed form says (FlopCounterMode, fvcore, parameters), and at α = 0 its
    output is the original's."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from octprof.analysis import Network

    torch.manual_seed(0)
    net = Network(name, input_size=(4, 32, 32), meta=False)
    x = torch.randn(net.captured.input_shape, generator=torch.Generator().manual_seed(1))
    for alpha in (0.0, 0.5):
        a = net.analyze(alpha)
        t = a.total(warn=False)
        octave = a.octify()
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            out = octave(x)
        assert fc.get_total_flops() == 2 * t["macs"]
        assert sum(p.numel() for p in octave.parameters()) == t["params"] == net.param_count
        assert a.crosscheck()["fvcore"] == t["fvcore_flops"]
        if alpha == 0.0:
            with torch.no_grad():
                assert torch.equal(out, a.model(x))
        else:
            assert len(a.plan.octave_layers()) > 30


def test_video_entries_keep_time_and_halve_space():
    """I3D at 8x224x224, α = .5: the low part of a split clip keeps its 8 frames and halves H and W (the default
    of ``temporal=False``); the I3D layout costs more than its C2D twin (the 3x1x1 and 5x7x7 kernels)."""
    from octprof.analysis import Network

    i3d = Network("i3d_resnet50").analyze(0.5)
    c2d = Network("c2d_resnet50").analyze(0.5)
    split = next(s for s in i3d.plan.splits.values() if s.split and len(s.shape) == 5 and s.shape[2:] == (8, 56, 56))
    assert dict(split.parts())["low"][2:] == (8, 28, 28)
    assert i3d.total(warn=False)["macs"] > c2d.total(warn=False)["macs"]
