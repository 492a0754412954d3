"""Small building blocks shared by the zoo's vanilla networks."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SqueezeExcite", "conv_bn_act"]


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation gate written with 1×1 convolutions (as the official Gluon ``SE``).

    ``avgpool`` → ``fc1`` (squeeze, with bias) → ReLU → ``fc2`` (excite, with bias) → sigmoid → ``x * gate``.
    The planner keeps the pooled vector split per frequency, gives ``fc1`` a high-only output and lets ``fc2``
    share the split of the feature map it multiplies.
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=True)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.sigmoid(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
        return x * gate


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    groups: int = 1,
    act: type[nn.Module] = nn.ReLU,
) -> list[nn.Module]:
    """``[conv (no bias, 'same' padding), BN, activation]``, for use in an ``nn.Sequential``."""
    return [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels),
        act(),
    ]
