"""1-D and 3-D networks: plan, octify, cross-check exactly, α = 0 equals the original; path ablations in the plan."""

import pytest
import torch
from torch import nn

from octprof.analysis import Network
from octprof.core.errors import OctprofError
from octprof.core.layer import PATHS
from octprof.core.plan import PlanOptions
from octprof.nn import OctConv1d, OctConv2d, OctConv3d
from tests.nets import check_exact


class Block1d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv1d(cin, cout, 1, stride, bias=False), nn.BatchNorm1d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.down is None else self.down(x)))


class ResNet1d(nn.Module):
    """A small 1-D ResNet for audio / time series: stem conv k7 s2 + max-pool, three stages, global pooling."""

    def __init__(self, cin: int = 2, width: int = 16, classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(cin, width, 7, 2, 3, bias=False), nn.BatchNorm1d(width), nn.ReLU(), nn.MaxPool1d(3, 2, 1)
        )
        self.layer1 = Block1d(width, width, 1)
        self.layer2 = Block1d(width, 2 * width, 2)
        self.pool = nn.AvgPool1d(2)
        self.layer3 = Block1d(2 * width, 4 * width, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4 * width, classes))

    def forward(self, x):
        return self.head(self.layer3(self.pool(self.layer2(self.layer1(self.stem(x))))))


class Small3d(nn.Module):
    """A small 3-D net with the per-frequency 3-D ops: BN3d, max / average pooling, nearest upsampling, a temporal
    (3×1×1) conv and a strided (2×1×1, 1×2×2) factorised pair as in R(2+1)D."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm3d(16), nn.ReLU())
        self.a = nn.Sequential(nn.Conv3d(16, 16, 3, 1, 1), nn.BatchNorm3d(16), nn.ReLU(), nn.MaxPool3d(2, 2))
        self.spatial = nn.Conv3d(16, 24, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False)
        self.temporal = nn.Conv3d(24, 24, (3, 1, 1), (2, 1, 1), (1, 0, 0), bias=False)
        self.bn = nn.BatchNorm3d(24)
        self.avg = nn.AvgPool3d((1, 2, 2))
        self.up = nn.Upsample(scale_factor=(1, 2, 2), mode="nearest")
        self.b = nn.Conv3d(24, 24, (3, 1, 1), 1, (1, 0, 0))
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(24, 4))

    def forward(self, x):
        x = self.a(self.stem(x))
        x = torch.relu(self.bn(self.temporal(self.spatial(x))))
        return self.head(self.b(self.up(self.avg(x))))


def _alpha0_equal(model: nn.Module, size) -> None:
    torch.manual_seed(0)
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    net = Network(model, size, meta=False)
    oct0 = net.analyze(0.0).octify()
    x = torch.randn(2, *net.captured.input_shape[1:])
    with torch.no_grad():
        assert torch.equal(oct0(x), model(x))


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5])
def test_resnet1d_crosscheck_exact(alpha):
    net = Network(ResNet1d(), 256, meta=False)
    assert net.captured.input_shape == (1, 2, 256)
    check_exact(net, alpha)


def test_resnet1d_converts_to_octconv1d_and_bn_per_frequency():
    an = Network(ResNet1d(), 256, meta=False).analyze(0.5)
    net = an.octify()
    kinds = {type(m).__name__ for m in net.modules()}
    assert "OctConv1d" in kinds and "FreqBatchNorm2d" in kinds and "OctConv2d" not in kinds
    # the stem stays vanilla, every block conv becomes an octave layer (8 convs: 2 + 3 + 3 with shortcuts); the
    # last block's outputs feed the global pooling of a vanilla head, so they go to α = 0
    assert len(an.plan.octave_layers()) == 8
    spec = an.plan.convs[an.plan.octave_layers()[1]].spec
    assert spec.dims == 1 and spec.width is None
    out = net(torch.randn(1, 2, 256))
    assert out.shape == (1, 5)


def test_resnet1d_alpha0_equals_original():
    _alpha0_equal(ResNet1d(), 256)


@pytest.mark.parametrize("temporal", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5])
def test_small3d_crosscheck_exact(alpha, temporal):
    check_exact(Network(Small3d(), (8, 16, 16), meta=False, temporal=temporal), alpha)


def test_small3d_low_part_keeps_time_unless_temporal():
    for temporal, low_t in ((False, 8), (True, 4)):
        an = Network(Small3d(), (8, 16, 16), temporal=temporal).analyze(0.5)
        split = an.plan.splits[next(n for n in an.plan.octave_layers() if "a.0" in an.plan.graph[n].module)]
        # (1, 16, 8, 16, 16) split 8/8: the low part is (1, 8, T, 8, 8), T = 8 (kept) or 4 (halved)
        assert dict(split.parts())["low"] == (1, 8, low_t, 8, 8)
        assert all(an.plan.convs[n].spec.temporal is temporal for n in an.plan.octave_layers())


def test_small3d_alpha0_equals_original():
    _alpha0_equal(Small3d(), (8, 16, 16))


def test_input_size_follows_the_model_dimensionality():
    assert Network(ResNet1d(), (2, 64)).captured.input_shape == (1, 2, 64)  # (C, L)
    assert Network(Small3d(), (3, 4, 8, 8)).captured.input_shape == (1, 3, 4, 8, 8)  # (C, T, H, W)
    with pytest.raises(OctprofError, match=r"input_size.*3-D network takes"):
        Network(Small3d(), 112)
    with pytest.raises(OctprofError, match=r"input_size.*1-D network takes"):
        Network(ResNet1d(), (1, 2, 3))


VIDEO = ["r3d_18", "mc3_18", "r2plus1d_18"]


@pytest.mark.parametrize("name", VIDEO)
def test_torchvision_video_crosscheck_exact_at_half(name):
    net = Network(f"torchvision:{name}", (4, 16, 16), meta=False)
    check_exact(net, 0.5)
    an = net.analyze(0.5)
    assert {type(m).__name__ for m in an.octify().modules()} >= {"OctConv3d", "FreqBatchNorm2d"}


@pytest.mark.slow
@pytest.mark.parametrize("name", VIDEO)
@pytest.mark.parametrize("alpha", [0.0, 0.25])
def test_torchvision_video_crosscheck_exact(name, alpha):
    check_exact(Network(f"torchvision:{name}", (4, 32, 32), meta=False), alpha)


@pytest.mark.parametrize("name", VIDEO)
def test_torchvision_video_alpha0_equals_original(name):
    import torchvision.models.video as tvv

    _alpha0_equal(getattr(tvv, name)(), (4, 16, 16))


def test_video_models_default_to_clips():
    assert Network("torchvision:r3d_18").captured.input_shape == (1, 3, 16, 112, 112)


# -- path ablations in the plan ------------------------------------------------------------------------------------


def test_paths_for_keeps_what_feeds_every_part():
    opts = PlanOptions(0.5, paths=("h2h", "l2l"), paths_overrides=(("layer4.*", "h2h,h2l,l2h,l2l"),))
    # a split layer keeps just the asked paths; where the split begins (α_in = 0) H→L must feed the low output,
    # where it ends (α_out = 0) L→H must feed the high output; an override pattern wins
    assert opts.paths_for("layer1.0.conv2", 64, 64, 1, 32, 32) == ("h2h", "l2l")
    assert opts.paths_for("layer1.0.conv1", 64, 64, 1, 0, 32) == ("h2h", "h2l")
    assert opts.paths_for("layer3.5.conv3", 64, 64, 1, 32, 0) == ("h2h", "l2h")
    assert opts.paths_for("layer4.0.conv1", 64, 64, 1, 32, 32) == PATHS
    assert PlanOptions(0.5).paths_for("x", 64, 64, 1, 32, 32) == PATHS
    with pytest.raises(OctprofError, match="paths"):
        PlanOptions(0.5, paths=("h2x",))


@pytest.mark.parametrize("paths", ["h2h,l2l", "h2h,h2l,l2l", "h2h,l2h,l2l"])
def test_path_ablation_crosscheck_exact(paths):
    from tests import nets

    net = Network(nets.cifar_resnet(), 32, meta=False, paths=paths)
    an = net.analyze(0.5)
    check_exact(net, 0.5)
    asked = set(paths.split(","))
    kept = [an.plan.convs[n].spec.paths for n in an.plan.octave_layers()]
    # every fully split layer (both sides split) keeps exactly the asked paths
    full = [
        an.plan.convs[n].spec.paths
        for n in an.plan.octave_layers()
        if an.plan.convs[n].spec.alpha_in and an.plan.convs[n].spec.alpha_out
    ]
    assert full and all(set(p) == asked for p in full)
    assert any(set(p) != set(PATHS) for p in kept)
    # fewer paths, fewer MACs than all four
    assert an.total()["macs"] < Network(nets.cifar_resnet(), 32).analyze(0.5).total()["macs"]


def test_paths_reach_the_converted_modules_and_the_sharing_key():
    from tests import nets

    an = Network(nets.cifar_resnet(), 32, meta=False, paths="h2h,l2l").analyze(0.5)
    convs = [m for m in an.octify().modules() if isinstance(m, OctConv2d)]
    both = [m for m in convs if m.alpha_in and m.alpha_out]
    assert both and all(m.h2l is None and m.l2h is None for m in both)


def test_paths_for_pattern_must_name_a_conv():
    from tests import nets

    with pytest.raises(OctprofError, match="--paths-for"):
        Network(nets.cifar_resnet(), 32, paths_for=[("nothing.*", "h2h,l2l")]).analyze(0.5)


def test_nd_octconv_classes_are_used():
    assert OctConv1d._dims == 1 and OctConv3d._dims == 3


# -- the CLI -------------------------------------------------------------------------------------------------------


def _cli(*args: str):
    from click.testing import CliRunner

    from octprof.cli import main

    return CliRunner().invoke(main, list(args))


def test_cli_table_1d_paths_and_3d_temporal_check():
    r = _cli(
        "table",
        "--model",
        "tests.test_ndnet:ResNet1d",
        "--input-size",
        "256",
        "--alpha",
        "0,0.5",
        "--paths",
        "h2h,l2l",
        "--paths-for",
        "layer3.*=h2h,h2l,l2h,l2l",
        "--check",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.output
    assert r.output.count(",True") == 2 and ",256," in r.output
    r = _cli(
        "table",
        "--model",
        "tests.test_ndnet:Small3d",
        "--input-size",
        "8x16x16",
        "--alpha",
        "0.5",
        "--temporal-octave",
        "--check",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.output
    assert ",8x16x16," in r.output and r.output.count(",True") == 1
    r = _cli("table", "--model", "tests.test_ndnet:ResNet1d", "--paths-for", "layer3.*")
    assert r.exit_code != 0 and "--paths-for" in r.output and "PATTERN=PATHS" in r.output


def test_cli_table_input_size_grid():
    r = _cli(
        "table",
        "--model",
        "tests.test_ndnet:ResNet1d",
        "--input-size",
        "128,256",
        "--alpha",
        "0,0.5",
        "--columns",
        "arch,alpha,input_size,macs",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.output
    rows = [line.split(",") for line in r.output.strip().splitlines()[1:]]
    assert [(row[1], row[2]) for row in rows] == [("0.0", "128"), ("0.5", "128"), ("0.0", "256"), ("0.5", "256")]
    # every conv of the 1-D net is linear in the length: twice the length, twice the macs (hand-checked: 309,568
    # at 128 and 618,816 at 256, the linear head's 64x5 = 320 macs once in each)
    assert int(rows[2][3]) - 320 == 2 * (int(rows[0][3]) - 320)


# -- memory and latency models on N-d networks ---------------------------------------------------------------------


@pytest.mark.parametrize("make, size", [(ResNet1d, 64), (Small3d, (4, 8, 8))], ids=["1d", "3d"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_nd_saved_for_backward_equals_autograd_and_latency_covers_macs(make, size, alpha):
    from octprof.latency import kernels
    from octprof.memory import memory_model, observed_saved_bytes

    torch.manual_seed(0)
    a = Network(make(), size, meta=False).analyze(alpha)
    x = torch.randn(a.captured.input_shape, generator=torch.Generator().manual_seed(1))
    # every op of these nets has an exact saved-for-backward rule: the model equals autograd's saved-tensor hooks
    assert memory_model(a).saved_bytes == observed_saved_bytes(a.octify().train(), x)
    ks = kernels(a, impl="fast")
    assert sum(k.macs for k in ks) == a.total()["macs"] and all(k.bytes > 0 for k in ks)


@pytest.mark.slow
def test_torchvision_s3d_crosscheck_exact():
    # S3D's head average-pools 2x7x7: it needs 16x224x224 clips
    check_exact(Network("torchvision:s3d", (16, 224, 224), meta=False), 0.5)
