"""Factories of the zoo's vanilla networks (they import torch; the presets in ``octprof.zoo.presets`` name them
as ``module:function`` so that listing the zoo needs no torch)."""

from __future__ import annotations

from octprof.zoo.densenet import DENSENET_SPECS, DenseNet
from octprof.zoo.mobilenet import MobileNetV1, MobileNetV2
from octprof.zoo.presets import RESNET_DEPTHS
from octprof.zoo.resnet import GluonResNetV1, PreActResNet
from octprof.zoo.video import VideoResNet50

__all__ = [
    "c2d_resnet50",
    "densenet",
    "i3d_resnet50",
    "mobilenet_v1",
    "mobilenet_v2",
    "preact_resnet",
    "preact_resnext_32x4d",
    "preact_se_resnet",
    "resnet152_v1f",
    "se_resnet152_v1e",
]


def preact_resnet(depth: int = 50, num_classes: int = 1000) -> PreActResNet:
    return PreActResNet(RESNET_DEPTHS[depth], num_classes=num_classes)


def preact_se_resnet(depth: int = 50, num_classes: int = 1000) -> PreActResNet:
    return PreActResNet(RESNET_DEPTHS[depth], se=True, num_classes=num_classes)


def preact_resnext_32x4d(depth: int = 50, num_classes: int = 1000) -> PreActResNet:
    # symbol_resnextv2_32x4d: group = 32, scaler = 2 (bottleneck widths 128/256/512/1024)
    return PreActResNet(RESNET_DEPTHS[depth], groups=32, width_scale=2, num_classes=num_classes)


def densenet(depth: int = 121, num_classes: int = 1000) -> DenseNet:
    init_channels, growth, blocks = DENSENET_SPECS[depth]
    return DenseNet(init_channels, growth, blocks, bn_size=4, num_classes=num_classes)


def mobilenet_v1(multiplier: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    return MobileNetV1(multiplier, num_classes=num_classes)


def mobilenet_v2(multiplier: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    return MobileNetV2(multiplier, num_classes=num_classes)


def resnet152_v1f(num_classes: int = 1000) -> GluonResNetV1:
    return GluonResNetV1(RESNET_DEPTHS[152], stem_block=True, num_classes=num_classes)


def se_resnet152_v1e(num_classes: int = 1000) -> GluonResNetV1:
    return GluonResNetV1(RESNET_DEPTHS[152], se=True, num_classes=num_classes)


def i3d_resnet50(num_classes: int = 400) -> VideoResNet50:
    return VideoResNet50(inflate=True, num_classes=num_classes)


def c2d_resnet50(num_classes: int = 400) -> VideoResNet50:
    return VideoResNet50(inflate=False, num_classes=num_classes)
