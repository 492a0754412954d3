"""DenseNet-BC of the paper's ablation (``utils/symbol/symbol_densenet.py``), as a vanilla PyTorch module.

Stem 7×7/2 conv (64) → BN → ReLU → 3×3/2 max-pool; dense layers BN → ReLU → 1×1 conv (4·growth) → BN → ReLU →
3×3 conv (growth) concatenated to their input; transitions BN → ReLU → 1×1 conv (half the channels) → 2×2/2
average pool; a final BN → ReLU, global average pool and a classifier with bias.  Convolutions have no bias.
This is torchvision's ``densenet121`` layer for layer, and the module names follow torchvision.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["DENSENET_SPECS", "DenseLayer", "DenseNet", "Transition"]

# symbol_densenet.densenet_spec: (init channels, growth, layers per dense stage)
DENSENET_SPECS: dict[int, tuple[int, int, tuple[int, int, int, int]]] = {
    121: (64, 32, (6, 12, 24, 16)),
    161: (96, 48, (6, 12, 36, 24)),
    169: (64, 32, (6, 12, 32, 32)),
    201: (64, 32, (6, 12, 48, 32)),
}


class DenseLayer(nn.Module):
    def __init__(self, in_channels: int, growth: int, bn_size: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        return torch.cat([x, out], 1)


class Transition(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(self.relu(self.norm(x))))


class DenseNet(nn.Module):
    def __init__(
        self,
        init_channels: int = 64,
        growth: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        bn_size: int = 4,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        features: list[tuple[str, nn.Module]] = [
            ("conv0", nn.Conv2d(3, init_channels, 7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(init_channels)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
        ]
        channels = init_channels
        for index, layers in enumerate(block_config):
            block = nn.Sequential()
            for i in range(layers):
                block.add_module(f"denselayer{i + 1}", DenseLayer(channels, growth, bn_size))
                channels += growth
            features.append((f"denseblock{index + 1}", block))
            if index + 1 < len(block_config):
                # compression 0.5: int(width / 2) as the official code
                features.append((f"transition{index + 1}", Transition(channels, channels // 2)))
                channels //= 2
        features.append(("norm5", nn.BatchNorm2d(channels)))
        features.append(("relu5", nn.ReLU()))
        self.features = nn.Sequential()
        for name, module in features:
            self.features.add_module(name, module)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)
