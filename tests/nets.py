"""Hand-written test networks: each exercises one way a network can meet the planner."""

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-20-like for 32x32 inputs: identity shortcuts inside stages, 1x1 projections between them."""

    def __init__(self, width: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = nn.Sequential(BasicBlock(width, width), BasicBlock(width, width))
        self.layer2 = nn.Sequential(BasicBlock(width, 2 * width, 2), BasicBlock(2 * width, 2 * width))
        self.layer3 = nn.Sequential(BasicBlock(2 * width, 4 * width, 2), BasicBlock(4 * width, 4 * width))
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class SE(nn.Module):
    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class SENet(nn.Module):
    """A small squeeze-excitation network with residual additions."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.conv1 = nn.Conv2d(32, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.se1 = SE(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.se2 = SE(64)
        self.head = nn.Sequential(
            nn.Conv2d(64, 64, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.stem(x)
        x = x + self.se1(F.relu(self.bn1(self.conv1(x))))
        x = self.se2(F.relu(self.bn2(self.conv2(x))))
        return self.head(x)


class UNet(nn.Module):
    """A U-Net-like encoder-decoder: max-pool downsampling, nearest upsampling, skip concatenations."""

    def __init__(self, c: int = 16) -> None:
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.enc1 = block(3, c)
        self.enc2 = block(c, 2 * c)
        self.enc3 = block(2 * c, 4 * c)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec2 = block(4 * c + 2 * c, 2 * c)
        self.dec1 = block(2 * c + c, c)
        self.out = nn.Conv2d(c, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(e3), e2], dim=1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], 1))
        return self.out(d1)


class WithUnknownOp(nn.Module):
    """A network with ops octprof has no rule for (pixel shuffle, a channel roll) in the middle of octave maps."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.conv2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(2)
        self.conv3 = nn.Conv2d(4, 16, 3, 2, 1)
        self.conv4 = nn.Conv2d(16, 8, 3, 1, 1)
        self.conv5 = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.conv3(self.shuffle(x))
        x = torch.roll(self.conv4(x), 1, dims=1)
        return self.conv5(x)


def cifar_resnet():
    return CifarResNet()


def senet():
    return SENet()


def unet():
    return UNet()


def with_unknown_op():
    return WithUnknownOp()


class Three(nn.Module):
    """A vanilla stem, then an octave layer 0 → 0.5 and one 0.5 → 0 (the output must be vanilla)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 8, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(8, 8, 1, bias=False)
        self.conv3 = nn.Conv2d(8, 8, 1, bias=False)

    def forward(self, x):
        return self.conv3(self.conv2(self.conv1(x)))


def check_exact(net, alpha: float) -> None:
    """The closed form of ``net`` at ``alpha`` against the counters on its built octave network."""
    an = net.analyze(alpha)
    cc = an.crosscheck()
    # exact, no tolerance: FlopCounterMode / 2 == macs, fvcore == fvcore_flops, parameters ==
    assert cc["flop_counter_flops"] == 2 * cc["macs"], cc
    assert cc["fvcore"] == cc["fvcore_flops"], cc
    assert cc["module_params"] == cc["params"], cc
    assert not an.refusals(), an.refusals()  # the proof found nothing the rules over-promised
    if alpha > 0:
        assert an.plan.octave_layers(), "nothing was converted"
