"""Video networks for the zoo: an I3D-style ResNet-50 and its C2D twin (Wang et al., "Non-local Neural Networks",
CVPR 2018, whose baselines these are; Carreira and Zisserman, CVPR 2017, for the inflation).

Both are post-activation ResNet-50s (blocks 3, 4, 6, 3; bottleneck widths 64 … 512; stride on the 3×3 conv) on
clips (N, 3, T, H, W), written with 3-D convolutions:

- I3D (``inflate=True``): a 5×7×7 stem (stride 1×2×2) and a 1×3×3 max-pool (stride 1×2×2); in every other bottleneck
  (the first, third, … of each stage) the first conv is inflated to 3×1×1 (padding 1×0×0): temporal kernels;
- C2D (``inflate=False``): the same network with every temporal kernel 1 — a 2-D ResNet-50 run on each frame (1×7×7
  stem, 1×1×1 convs), whose only temporal operation is the final pooling over time.

Time is never strided, so a clip of T frames keeps T frames to the head (global average pooling over T×H×W, then a
linear classifier, 400 Kinetics classes).  Convolutions have no bias.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["VideoBottleneck", "VideoResNet50"]

_BLOCKS = (3, 4, 6, 3)
_WIDTHS = (64, 128, 256, 512)


class VideoBottleneck(nn.Module):
    """Post-activation bottleneck on clips: (kt×1×1 conv) → (1×3×3 conv, spatial stride) → (1×1×1 conv), each
    followed by BN (and ReLU but the last), plus the (projected) shortcut."""

    def __init__(self, in_channels: int, width: int, stride: int, temporal_kernel: int) -> None:
        super().__init__()
        out_channels = 4 * width
        kt = temporal_kernel
        self.conv1 = nn.Conv3d(in_channels, width, (kt, 1, 1), padding=(kt // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = (
            nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride=(1, stride, stride), bias=False),
                nn.BatchNorm3d(out_channels),
            )
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class VideoResNet50(nn.Module):
    """A ResNet-50 on clips; ``inflate``: the I3D layout (temporal stem and 3×1×1 first convs in every other
    block), else C2D (every temporal kernel 1)."""

    def __init__(self, inflate: bool, num_classes: int = 400) -> None:
        super().__init__()
        kt = 5 if inflate else 1
        self.conv1 = nn.Conv3d(3, 64, (kt, 7, 7), stride=(1, 2, 2), padding=(kt // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        channels = 64
        for i, (blocks, width) in enumerate(zip(_BLOCKS, _WIDTHS)):
            layers = []
            for b in range(blocks):
                stride = 2 if (b == 0 and i > 0) else 1
                temporal = 3 if (inflate and b % 2 == 0) else 1
                layers.append(VideoBottleneck(channels, width, stride, temporal))
                channels = 4 * width
            self.add_module(f"layer{i + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
