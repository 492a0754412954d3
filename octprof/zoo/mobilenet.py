"""MobileNets of the paper's Table 5, following the official Gluon code (``utils/gluon/utils/mobilenetv*.py``).

Channel counts use the official ``int(multiplier * c)`` (no rounding to multiples of 8, unlike torchvision).
Convolutions have no bias; the classifier (a 1×1 Gluon conv on the pooled vector) has one.  No dropout
(``final_drop=0``).
"""

from __future__ import annotations

import torch
from torch import nn

from octprof.zoo.blocks import conv_bn_act

__all__ = ["DepthwiseSeparable", "InvertedResidual", "MobileNetV1", "MobileNetV2"]


class DepthwiseSeparable(nn.Module):
    """``_DWSConv``: 3×3 depthwise conv → BN → ReLU → 1×1 pointwise conv → BN → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, bias=False)
        self.bn_dw = nn.BatchNorm2d(in_channels)
        self.relu_dw = nn.ReLU()
        self.conv_pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn_pw = nn.BatchNorm2d(out_channels)
        self.relu_pw = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu_dw(self.bn_dw(self.conv_dw(x)))
        return self.relu_pw(self.bn_pw(self.conv_pw(x)))


class MobileNetV1(nn.Module):
    """``_MobileNetV1``: ``features.0`` is the stem (3×3/2 conv → BN → ReLU), ``features.1..13`` the blocks."""

    def __init__(self, multiplier: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        dw_channels = [int(c * multiplier) for c in [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]]
        channels = [int(c * multiplier) for c in [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2]
        strides = [1, 2] * 3 + [1] * 5 + [2, 1]
        layers: list[nn.Module] = [nn.Sequential(*conv_bn_act(3, int(32 * multiplier), 3, stride=2))]
        for dwc, pwc, stride in zip(dw_channels, channels, strides, strict=True):
            layers.append(DepthwiseSeparable(dwc, pwc, stride))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)


class InvertedResidual(nn.Module):
    """Gluon ``_BottleneckV1`` of MobileNet v2: 1×1 expansion (always, also for t = 1) → BN → ReLU6 →
    3×3 depthwise → BN → ReLU6 → 1×1 projection → BN, plus the identity when stride 1 and C_in == C_out."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.use_shortcut = stride == 1 and in_channels == out_channels
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.relu1 = nn.ReLU6()
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1, groups=mid_channels, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.relu2 = nn.ReLU6()
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + x if self.use_shortcut else out


class MobileNetV2(nn.Module):
    """``_MobileNetV2``: ``features.0`` stem, ``features.1..17`` blocks, ``features.18`` the 1×1 tail conv."""

    def __init__(self, multiplier: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        widths_in = [32] + [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3
        widths_out = [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]
        expansions = [1] + [6] * 16
        strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
        in_channels = [int(multiplier * c) for c in widths_in]
        mid_channels = [int(t * c) for t, c in zip(expansions, in_channels, strict=True)]
        out_channels = [int(multiplier * c) for c in widths_out]
        last_channels = int(1280 * multiplier) if multiplier > 1.0 else 1280

        layers: list[nn.Module] = [nn.Sequential(*conv_bn_act(3, int(32 * multiplier), 3, stride=2, act=nn.ReLU6))]
        for cin, cmid, cout, stride in zip(in_channels, mid_channels, out_channels, strides, strict=True):
            layers.append(InvertedResidual(cin, cmid, cout, stride))
        layers.append(nn.Sequential(*conv_bn_act(out_channels[-1], last_channels, 1, act=nn.ReLU6)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)
