"""Residual networks of the paper, as vanilla PyTorch modules.

Two families, following the official code (facebookresearch/OctConv):

- ``PreActResNet``: the ablation networks (Fig. 4, Tables 2 and 6), ``utils/symbol/symbol_resnetv2.py`` with
  ``BottleNeckV2``: pre-activation bottlenecks (BN → ReLU → conv, three times), stride on the 3×3 conv, the
  projection shortcut of a stage's first block has its own BN → ReLU → 1×1 conv, a final BN → ReLU before the
  global pool.  ResNeXt is the same network with 32 groups and twice the bottleneck width; SE-ResNet adds an
  SE gate (width C/16) after the third conv.
- ``GluonResNetV1``: the large models of Table 7, ``utils/gluon/utils/resnetv1.py``: post-activation
  bottlenecks with the stride on the last 1×1 conv (``down_pos=2``), a deep stem, and for the SE variant an
  extra parameter-free BN in front of the first conv and of the projection shortcut (``extra_bn``).

Convolutions have no bias; the classifier has one (MXNet ``FullyConnected`` default, Gluon 1×1 conv default).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from octprof.zoo.blocks import SqueezeExcite, conv_bn_act
from octprof.zoo.presets import RESNET_DEPTHS  # re-exported: the blocks per stage live with the presets

__all__ = ["RESNET_DEPTHS", "GluonBottleneck", "GluonResNetV1", "PreActBottleneck", "PreActResNet"]


class PreActBottleneck(nn.Module):
    """``BottleNeckV2`` of the official ablation code."""

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int = 1,
        groups: int = 1,
        projection: bool = False,
        se: bool = False,
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(mid_channels)
        self.relu3 = nn.ReLU()
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        # symbol_seblock.SE_Block: hidden width int(C_out / 16), both FCs with bias
        self.se = SqueezeExcite(out_channels, out_channels // 16) if se else None
        # the first block of every stage projects (conv4 in the official code), with its own BN → ReLU
        self.downsample = (
            nn.Sequential(
                nn.BatchNorm2d(in_channels),
                nn.ReLU(),
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            )
            if projection
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu1(self.bn1(x)))
        out = self.conv2(self.relu2(self.bn2(out)))
        out = self.conv3(self.relu3(self.bn3(out)))
        if self.se is not None:
            out = self.se(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return out + shortcut


class PreActResNet(nn.Module):
    """Pre-activation ResNet / ResNeXt / SE-ResNet of the ablation (``symbol_resnetv2.get_symbol``)."""

    def __init__(
        self,
        layers: Sequence[int],
        groups: int = 1,
        width_scale: int = 1,
        se: bool = False,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        # stage 1 (vanilla in the octave network): 7×7/2 conv → BN → ReLU → 3×3/2 max-pool (floor mode)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        in_channels, mid, out = 64, 64 * width_scale, 256
        for index, blocks in enumerate(layers):
            stride = 1 if index == 0 else 2
            stage = [
                PreActBottleneck(
                    in_channels if i == 0 else out,
                    mid,
                    out,
                    stride=stride if i == 0 else 1,
                    groups=groups,
                    projection=(i == 0),
                    se=se,
                )
                for i in range(blocks)
            ]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            in_channels, mid, out = out, mid * 2, out * 2

        self.bn_final = nn.BatchNorm2d(in_channels)  # 'tail' BN → ReLU of the official code
        self.relu_final = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.relu_final(self.bn_final(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class GluonBottleneck(nn.Module):
    """``_BottleneckV1`` of the official Gluon code: post-activation, stride on ``conv3`` (``down_pos=2``)."""

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int = 1,
        se: bool = False,
    ) -> None:
        super().__init__()
        # extra_bn (set with use_se): BN without scale and shift in front of conv1 and of the shortcut conv
        self.bn1a = nn.BatchNorm2d(in_channels, affine=False) if se else None
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, stride=stride, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        # Gluon SE: hidden width int(C_out / 16), 1×1 convs with bias, after bn3 and before the sum
        self.se = SqueezeExcite(out_channels, out_channels // 16) if se else None
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            head = [nn.BatchNorm2d(in_channels, affine=False)] if se else []
            self.downsample = nn.Sequential(
                *head,
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.bn1a is None else self.bn1a(x)
        out = self.relu1(self.bn1(self.conv1(out)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + shortcut)


class StemBottleneck(nn.Module):
    """``_bL_Stem`` (1×1 → 3×3/2 → 1×1, 64 → 32 → 32 → 64, 1×1/2 projection): replaces the max-pool in v1f."""

    def __init__(self, channels: int = 64, mid_channels: int = 32, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(mid_channels, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.downsample = nn.Sequential(
            nn.Conv2d(channels, channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + self.downsample(x))


class GluonResNetV1(nn.Module):
    """``_ResNetV1`` with ``deep_stem=True, down_pos=2`` (``resnet152_v1e`` / ``resnet152_v1f``).

    ``stem_block=True`` is v1f (``replace_maxpool='bottleneck-131'``): stem convs 8/32/64 with the second at
    stride 2, then :class:`StemBottleneck`.  Otherwise v1e: stem convs 32/32/64 with the first at stride 2,
    then a 3×3/2 max-pool (Gluon ``MaxPool2D`` default: floor mode).
    """

    def __init__(
        self,
        layers: Sequence[int],
        stem_block: bool = False,
        se: bool = False,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.has_stem_block = stem_block
        n1, s1, s2 = (8, 1, 2) if stem_block else (32, 2, 1)
        self.stem = nn.Sequential(
            *conv_bn_act(3, n1, 3, stride=s1),
            *conv_bn_act(n1, 32, 3, stride=s2),
            *conv_bn_act(32, 64, 3),
        )
        if stem_block:
            self.stem_block = StemBottleneck(64, 32, stride=2)
        else:
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        in_channels = 64
        for index, (blocks, mid, out) in enumerate(
            zip(layers, (64, 128, 256, 512), (256, 512, 1024, 2048), strict=True)
        ):
            stride = 1 if index == 0 else 2
            stage = []
            for i in range(blocks):
                stage.append(GluonBottleneck(in_channels, mid, out, stride=stride if i == 0 else 1, se=se))
                in_channels = out
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))

        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)  # Gluon 1×1 conv classifier with bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stem_block(x) if self.has_stem_block else self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)
