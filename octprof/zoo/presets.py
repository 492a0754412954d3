"""The zoo's architectures and the paper's conversion presets, as plain data (no torch): ``octprof list`` reads
them without building a network.  Each factory is named ``module:function`` and imported on first use.

Presets follow the official code (facebookresearch/OctConv): ``utils/symbol`` for the ablation networks
(Fig. 4, Tables 2 and 6) and ``utils/gluon`` for the small and large models (Tables 5 and 7).
"""

from __future__ import annotations

from octprof.zoo.registry import ModelSource, register

__all__ = ["RESNET_DEPTHS"]

# symbol_resnetv2.resenet_spec: blocks per stage
RESNET_DEPTHS: dict[int, tuple[int, int, int, int]] = {
    26: (2, 2, 2, 2),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}

_M = "octprof.zoo.models:"
_SYMBOL = "facebookresearch/OctConv utils/symbol/"
_GLUON = "facebookresearch/OctConv utils/gluon/utils/"

# --- ablation networks (pre-activation, symbol API) ---------------------------------------------------------
# The last stage is built with ratio min(α, 0) = 0: its first block takes (h, l) and gives h.  Everything after
# the stem uses the octave operator, so the 3×3/2 conv of layer4.0 (vanilla in and out) still pools.
_RESNET_VANILLA = ("layer4.*",)
_RESNET_POOL = ("layer4.0.conv2",)

for _depth in (26, 50, 101, 152, 200):
    register(
        ModelSource(
            name=f"resnet{_depth}",
            factory=_M + "preact_resnet",
            kwargs={"depth": _depth},
            vanilla=_RESNET_VANILLA,
            stride_pool=_RESNET_POOL,
            description=f"Pre-activation ResNet-{_depth} (blocks {RESNET_DEPTHS[_depth]}), the Fig. 4 ablation",
            source=_SYMBOL + "symbol_resnetv2.py, symbol_resblock.py (BottleNeckV2)",
        )
    )

register(
    ModelSource(
        name="se_resnet50",
        factory=_M + "preact_se_resnet",
        kwargs={"depth": 50},
        vanilla=(*_RESNET_VANILLA, "*.se.fc1"),
        stride_pool=_RESNET_POOL,
        description="Pre-activation SE-ResNet-50 (SE width C/16 after conv3), the Fig. 4 ablation",
        source=_SYMBOL + "symbol_seresnetv2.py, symbol_seblock.py",
    )
)

for _depth in (50, 101):
    register(
        ModelSource(
            name=f"resnext{_depth}_32x4d",
            factory=_M + "preact_resnext_32x4d",
            kwargs={"depth": _depth},
            vanilla=_RESNET_VANILLA,
            stride_pool=_RESNET_POOL,
            description=f"Pre-activation ResNeXt-{_depth} (32×4d), the Fig. 4 ablation",
            source=_SYMBOL + "symbol_resnextv2_32x4d.py",
        )
    )

register(
    ModelSource(
        name="densenet121",
        factory=_M + "densenet",
        kwargs={"depth": 121},
        # stem vanilla (the official code starts the octave part with (x, None)); dense stages 1-3 octave;
        # the last transition and dense stage 4 are built with ratio 0
        vanilla=("features.transition3.*", "features.denseblock4.*"),
        description="DenseNet-121 (growth 32, bn_size 4, init 64, compression 0.5), the Fig. 4 ablation",
        source=_SYMBOL + "symbol_densenet.py, symbol_denseblock.py",
    )
)

# --- small models (Table 5, Gluon API) -----------------------------------------------------------------------
# MobileNet v1: dw ratios [0] + [α]*10 + [0]*2, pw ratios [α]*10 + [0]*3 over the 13 blocks features.1..13:
# block 1's depthwise conv sees the vanilla stem, block 11's pointwise conv goes to α = 0, blocks 12 and 13
# (7×7) are vanilla; block 12's stride-2 depthwise conv is still an octave operator (pools).
_MBV1_VANILLA = ("features.11.conv_pw", "features.12.*", "features.13.*")
_MBV1_POOL = ("features.12.conv_dw",)

for _name, _mult in (("mobilenet_v1", 1.0), ("mobilenet_v1_075", 0.75)):
    register(
        ModelSource(
            name=_name,
            factory=_M + "mobilenet_v1",
            kwargs={"multiplier": _mult},
            vanilla=_MBV1_VANILLA,
            stride_pool=_MBV1_POOL,
            description=f"{_mult} MobileNet (v1), Table 5",
            source=_GLUON + "mobilenetv1.py",
        )
    )

# MobileNet v2: only the expanded middle tensor of blocks 1-13 is split (ratios [α]*13 + [0]*4); block inputs
# and outputs (projection convs conv3) stay vanilla, the last 4 blocks features.14..17 and the tail conv are
# vanilla; block 14's stride-2 depthwise conv is still an octave operator (pools).
_MBV2_VANILLA = (
    "features.*.conv3",
    "features.14.*",
    "features.15.*",
    "features.16.*",
    "features.17.*",
    "features.18.*",
)
_MBV2_POOL = ("features.14.conv2",)

for _name, _mult in (("mobilenet_v2", 1.0), ("mobilenet_v2_1125", 1.125)):
    register(
        ModelSource(
            name=_name,
            factory=_M + "mobilenet_v2",
            kwargs={"multiplier": _mult},
            vanilla=_MBV2_VANILLA,
            stride_pool=_MBV2_POOL,
            description=f"{_mult} MobileNet (v2), Gluon version (t = 1 block has a 1×1 expansion), Table 5",
            source=_GLUON + "mobilenetv2.py",
        )
    )

# --- large models (Table 7, Gluon API, α = 0.125 in the paper) ------------------------------------------------
# Stage ratios [α, α, α, 0]; the stem (plain Gluon layers) is vanilla.  The stride sits on conv3 (down_pos=2);
# layer4.0.conv3 takes the vanilla output of conv2 but is an octave operator, so it pools.
register(
    ModelSource(
        name="resnet152_v1f",
        factory=_M + "resnet152_v1f",
        vanilla=("stem.*", "stem_block.*", "layer4.*"),
        stride_pool=("layer4.0.conv3",),
        description="ResNet-152 v1f: deep stem 8/32/64, bottleneck instead of max-pool, Table 7 (α = .125)",
        source=_GLUON + "resnetv1.py (resnet152_v1f)",
    )
)

register(
    ModelSource(
        name="se_resnet152_v1e",
        factory=_M + "se_resnet152_v1e",
        vanilla=("stem.*", "layer4.*", "*.se.fc1"),
        stride_pool=("layer4.0.conv3",),
        description="SE-ResNet-152 v1e: deep stem 32/32/64, max-pool, SE C/16, extra BN, Table 7 (α = .125)",
        source=_GLUON + "resnetv1.py (resnet152_v1e, use_se=True)",
    )
)

# --- video (3-D convolutions on clips; time kept in the low part, as the paper's 3-D remark leaves open) -------
# The image ablation's preset carried over: the last stage vanilla, its first 3×3 (stride 1×2×2) pools.
for _name, _what in (
    ("i3d_resnet50", "I3D ResNet-50 (3x1x1 temporal convs)"),
    ("c2d_resnet50", "C2D ResNet-50 (2-D per frame)"),
):
    register(
        ModelSource(
            name=_name,
            factory=_M + _name,
            input_size=(8, 224, 224),
            vanilla=("layer4.*",),
            stride_pool=("layer4.0.conv2",),
            description=f"{_what}, 8-frame clips, 400 classes: a video entry",
            source="octprof/zoo/video.py (the baselines of Wang et al. 2018, Non-local Neural Networks)",
        )
    )
