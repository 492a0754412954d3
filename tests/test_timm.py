"""timm as a first-class source: a broad sample of third-party networks, each at α ∈ {0, 0.5}, priced only as a
network that exists.  Totals equal FlopCounterMode / 2 on the built octave network (which runs, for real, on CPU),
parameters equal the real module tree, and at α = 0 the output is bit-identical to the original."""

from __future__ import annotations

import warnings

import pytest
import torch

from octprof.analysis import Network, UnpricedWarning
from octprof.crosscheck import flop_counter

timm = pytest.importorskip("timm")

# (family, timm name, input size): small inputs keep the suite fast; sizes the networks accept
SAMPLE = [
    ("ResNet-D", "resnet18d", 64),
    ("SE-ResNet", "seresnet18", 64),
    ("SK-ResNet", "skresnet18", 64),
    ("Res2Net", "res2net50_14w_8s", 64),
    ("CSP", "cspresnet50", 64),
    ("DPN", "dpn68", 64),
    ("DLA", "dla34", 64),
    ("GhostNet", "ghostnet_100", 64),
    ("ReXNet", "rexnet_100", 64),
    ("MixNet", "mixnet_s", 64),
    ("RegNetX", "regnetx_002", 64),
    ("RegNetY", "regnety_002", 64),
    ("HRNet", "hrnet_w18_small", 96),
    ("ConvNeXt", "convnext_atto", 96),
    ("EfficientNet-lite", "efficientnet_lite0", 96),
    ("VoVNet", "ese_vovnet19b_dw", 96),
    ("ResNeSt", "resnest14d", 96),
    ("MobileNetV3", "mobilenetv3_small_100", 96),
    ("DenseNet", "densenet121", 96),
    ("SelecSLS", "selecsls42b", 96),
    ("GENet", "gernet_s", 96),
    ("RepVGG", "repvgg_a0", 96),
    ("Xception", "legacy_xception", 96),
    ("Inception", "inception_v3", 96),
]


@pytest.mark.slow
@pytest.mark.parametrize(("family", "name", "size"), SAMPLE, ids=[s[1] for s in SAMPLE])
def test_timm_network_priced_exactly(family, name, size):
    torch.manual_seed(0)
    net = Network(f"timm:{name}", input_size=size)
    x = torch.randn(net.captured.input_shape, generator=torch.Generator().manual_seed(1))
    for alpha in (0.0, 0.5):
        a = net.analyze(alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnpricedWarning)
            t = a.total()
        octave = a.octify()
        with torch.no_grad(), flop_counter() as fc:
            out = octave(x)
        assert fc.get_total_flops() == 2 * t["macs"], (name, alpha)
        assert sum(p.numel() for p in octave.parameters()) == t["params"], (name, alpha)
        if alpha == 0.0:
            assert t["params"] == sum(p.numel() for p in a.model.parameters())
            with torch.no_grad():
                assert torch.equal(out, a.model(x))
        else:
            assert a.plan.octave_layers(), name  # the octave version exists
            assert not a.refusals(), (name, a.refusals())  # the plan was right first time


def test_timm_names_resolve_and_unknown_names_are_refused():
    from octprof.core.errors import OctprofError

    with pytest.raises(OctprofError, match=r"arch: got 'timm:resnet5O'.*no such timm model.*resnet50"):
        Network("timm:resnet5O")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size"), [("inception_v3", 139), ("legacy_xception", 139)])
def test_timm_odd_sizes_convert_with_ceil(name, size):
    """At odd map sizes (139 → 69 → 34 → ... in Inception) the official layout keeps most convs vanilla; with
    ``odd_size="ceil"`` most convert, and the octave network still counts exactly."""
    torch.manual_seed(0)
    vanilla = Network(f"timm:{name}", input_size=size).analyze(0.5)
    net = Network(f"timm:{name}", input_size=size, odd_size="ceil")
    a = net.analyze(0.5)
    assert len(a.plan.octave_layers()) > 2 * len(vanilla.plan.octave_layers())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedWarning)
        t = a.total()
    octave = a.octify()
    x = torch.randn(net.captured.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), flop_counter() as fc:
        octave(x)
    assert fc.get_total_flops() == 2 * t["macs"]
    assert sum(p.numel() for p in octave.parameters()) == t["params"] == net.param_count
