"""The "wild" set: small hand-written networks, each with one pattern that real third-party networks use.

Every net takes a 3×32×32 input (unless ``INPUT`` says otherwise) and starts with a stem conv, so that the pattern
under test meets split maps at α > 0.  ``WILD`` maps a name to (factory, input size)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _stem(c: int = 16) -> nn.Sequential:
    """A vanilla stem conv, then a conv whose output is split at α > 0: the pattern after it meets split maps."""
    return nn.Sequential(
        nn.Conv2d(3, c, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.Conv2d(c, c, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
    )


class _Head(nn.Module):
    def __init__(self, c: int, classes: int = 10) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(x), 1))


class ChannelSlice(nn.Module):
    """GhostNet / DPN / ReXNet-style: a map sliced along channels, the pieces used apart."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem(32)
        self.a = nn.Conv2d(16, 16, 3, 1, 1)
        self.b = nn.Conv2d(16, 16, 1)
        self.head = _Head(32)

    def forward(self, x):
        x = self.stem(x)
        y = torch.cat([self.a(x[:, :16]), self.b(x[:, 16:])], 1)
        return self.head(y)


class SplitAdd(nn.Module):
    """Res2Net / CSP-style: ``torch.split`` / ``chunk`` pieces meet conv outputs through an add."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem(32)
        self.c1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.c2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(32)

    def forward(self, x):
        x = self.stem(x)
        a, b = torch.split(x, 16, dim=1)
        c, d = x.chunk(2, dim=1)
        y1 = self.c1(a) + c
        y2 = self.c2(y1 + b) + d
        return self.head(torch.cat([y1, y2], 1))


class SplitPropagate(nn.Module):
    """A Res2Net-style block whose pieces can each keep their share of both frequencies."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem(32)
        self.c1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.c2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.fuse = nn.Conv2d(32, 32, 1)
        self.head = _Head(32)

    def forward(self, x):
        x = self.stem(x)
        a, b = torch.split(x, 16, dim=1)
        y1 = self.c1(a)
        y2 = self.c2(b + y1)
        return self.head(self.fuse(torch.cat([y1, y2], 1)))


class SpatialCrop(nn.Module):
    """A crop of one pixel (an odd size) then a pad back: the low part cannot stay half the size."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        y = self.conv(x)[:, :, 1:, 1:]
        y = F.pad(y, (1, 0, 1, 0))
        return self.head(y + x)


class PReLUNet(nn.Module):
    """PReLU with one parameter and with one per channel."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.Conv2d(16, 16, 3, 1, 1), nn.PReLU(16))
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.act = nn.PReLU()
        self.head = _Head(16)

    def forward(self, x):
        return self.head(self.act(self.conv(self.stem(x))))


class LayerScale(nn.Module):
    """ConvNeXt-style layer scale: a map times a (1, C, 1, 1) parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.gamma = nn.Parameter(torch.full((1, 16, 1, 1), 0.5))
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.tail(x + self.conv(x) * self.gamma))


class SpatialGate(nn.Module):
    """CBAM-style spatial attention: a map times sigmoid(conv(x)) with a 1-channel gate."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.gate = nn.Conv2d(16, 1, 7, 1, 3)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        return self.head(x * torch.sigmoid(self.gate(x)))


class SharedConv(nn.Module):
    """One conv module called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.conv(F.relu(self.conv(x))))


class Attention(nn.Module):
    """A map flattened into tokens, matmul self-attention, folded back (a hybrid CNN-transformer)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 2, 1)
        self.qkv = nn.Linear(16, 48)
        self.proj = nn.Conv2d(16, 16, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(1, 2) / 4.0, dim=-1)
        y = torch.einsum("bij,bjc->bic", a, v).transpose(1, 2).reshape(n, c, h, w)
        return self.head(self.proj(y) + x)


class SDPA(nn.Module):
    """scaled_dot_product_attention and bmm on tokens of a conv map."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 2, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2).unsqueeze(1)
        y = F.scaled_dot_product_attention(t, t, t).squeeze(1)
        y = torch.bmm(y.transpose(1, 2), y) @ y.transpose(1, 2) / (h * w)
        return self.head(y.reshape(n, c, h, w) + x)


class SDPAHeads(nn.Module):
    """timm-style multi-head attention on the tokens of a conv map: qkv by a linear layer, 4 heads,
    ``F.scaled_dot_product_attention`` (on CPU PyTorch runs its fused flash kernel, which plain FlopCounterMode
    counts 0; on meta, the math path: two products)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 32, 3, 2, 1)
        self.qkv = nn.Linear(32, 96)
        self.proj = nn.Conv2d(32, 16, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, c, h, w = x.shape
        qkv = self.qkv(x.flatten(2).transpose(1, 2)).reshape(n, h * w, 3, 4, c // 4).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = F.scaled_dot_product_attention(q, k, v)  # (n, 4, h*w, c/4)
        return self.head(self.proj(y.transpose(1, 2).reshape(n, h * w, c).transpose(1, 2).reshape(n, c, h, w)))


class OptionalArgs(nn.Module):
    """timm's ViT: ``forward(x, attn_mask=None, is_causal=False)``: arguments after the input with a default,
    traced fixed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x, mask=None, causal=False, scale=1.0):
        y = self.conv(self.stem(x))
        if mask is not None:
            y = y * mask
        if causal:
            y = torch.tril(y)
        return self.head(y * scale)


class ParamRead(nn.Module):
    """XCiT: ``pos.to(self.token_projection.weight.dtype)``; and a map scaled by a conv's weight and a batch
    norm's bias: the graph reads the parameters of modules conversion would replace."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.proj = nn.Conv2d(16, 16, 3, 1, 1)
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.bn = nn.BatchNorm2d(16)
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.out = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        y = self.proj(self.stem(x))
        y = y.to(self.proj.weight.dtype)
        z = self.bn(self.conv(y)) * self.conv.weight.mean() + self.bn.bias.sum()
        return self.head(self.out(self.tail(z)))


class TransposedConv(nn.Module):
    """An encoder-decoder: a strided conv down, a ConvTranspose2d up, added to the skip."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.down = nn.Conv2d(16, 32, 3, 2, 1)
        self.up = nn.ConvTranspose2d(32, 16, 2, 2)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.up(F.relu(self.down(x))) + x)


class Norms(nn.Module):
    """LayerNorm (ConvNeXt, channels-last), GroupNorm and InstanceNorm on maps."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.dw = nn.Conv2d(16, 16, 7, 1, 3, groups=16)
        self.ln = nn.LayerNorm(16)
        self.pw = nn.Conv2d(16, 32, 1)
        self.gn = nn.GroupNorm(4, 32)
        self.conv = nn.Conv2d(32, 16, 3, 1, 1)
        self.inorm = nn.InstanceNorm2d(16, affine=True)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.ln(y).permute(0, 3, 1, 2)
        y = self.gn(self.pw(y))
        return self.head(self.inorm(self.conv(y)) + x)


class SamePadding(nn.Module):
    """``padding='same'`` and a reflect-padded conv."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.same = nn.Conv2d(16, 16, 3, padding="same")
        self.reflect = nn.Conv2d(16, 16, 3, padding=1, padding_mode="reflect")
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.conv(self.reflect(self.same(x))))


class _StdConv(nn.Conv2d):
    """timm's ScaledStdConv2d in brief: a conv subclass whose forward standardises its weight and scales it by a
    parameter of its own (an octave conv built from ``weight`` alone would lose both)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gain = nn.Parameter(torch.ones(self.out_channels, 1, 1, 1))

    def forward(self, x):
        w = self.weight.reshape(1, self.out_channels, -1)
        w = F.batch_norm(w, None, None, training=True, momentum=0.0).reshape_as(self.weight)
        return F.conv2d(x, w * self.gain, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _ActBN(nn.BatchNorm2d):
    """A batch norm subclass whose forward adds an activation (a per-frequency batch norm would drop it)."""

    def forward(self, x):
        return torch.relu(super().forward(x))


class OwnForward(nn.Module):
    """Conv and batch norm subclasses with a forward of their own: not the op their base class is."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.std = _StdConv(16, 16, 3, 1, 1)
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.bn = _ActBN(16)
        self.out = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.out(self.bn(self.conv(self.std(x)))))


class OddSize(nn.Module):
    """SqueezeNet-like odd sizes: a 3×3 stride-2 max-pool without padding (32 → 15)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.pool = nn.MaxPool2d(3, 2)
        self.conv1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.conv2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        return self.head(self.conv2(self.pool(self.conv1(self.stem(x)))))


class Conv1d3d(nn.Module):
    """A Conv1d over a flattened row and a Conv3d over a stacked map (priced, kept vanilla)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.c1 = nn.Conv1d(16, 16, 3, padding=1)
        self.c3 = nn.Conv3d(1, 2, 3, padding=1)
        self.head = _Head(32)

    def forward(self, x):
        x = self.stem(x)
        n, c, h, w = x.shape
        y = self.c1(x.flatten(2)).reshape(n, c, h, w)
        z = self.c3(y.unsqueeze(1)).reshape(n, 2 * c, h, w)
        return self.head(z)


class Unknown(nn.Module):
    """An op no rule knows and FlopCounterMode counts nothing for (cumprod): priced 0 and listed."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        return self.head(torch.cumprod(x, dim=1))


class FourierPosition(nn.Module):
    """EdgeNeXt / XCiT: a Fourier position encoding made from the map's sizes (``~torch.zeros(...)``, ``cumsum``,
    ``torch.arange``, ``temperature ** ...``, ``sin`` / ``cos``, ``.to``), projected by a 1x1 conv and added to
    the map; then the map normalised along channels (``F.normalize``)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.proj = nn.Conv2d(8, 16, 1)
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def position(self, n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
        mask = ~torch.zeros((n, h, w), device=device).to(torch.bool)
        y = mask.cumsum(1, dtype=torch.float32)
        x = mask.cumsum(2, dtype=torch.float32)
        dim_t = torch.arange(2, device=device).to(torch.float32)
        dim_t = 10000.0 ** (dim_t / 2)
        px, py = x[..., None] / dim_t, y[..., None] / dim_t
        return torch.cat((px.sin(), px.cos(), py.sin(), py.cos()), dim=3).permute(0, 3, 1, 2)  # (n, 8, h, w)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, _, h, w = x.shape
        x = x + self.proj(self.position(n, h, w, x.device).to(x.dtype))
        return self.head(self.tail(F.normalize(x, dim=1)))


class HaloBlocks(nn.Module):
    """HaloNet: keys and values as overlapping blocks of a padded map (``Tensor.unfold``, a view), averaged back."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.mix = nn.Conv2d(16, 16, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        kv = F.pad(x, (2, 2, 2, 2)).unfold(2, 12, 8).unfold(3, 12, 8)  # (n, c, 4, 4, 12, 12)
        blocks = self.mix(kv.mean((-1, -2)))  # (n, c, 4, 4)
        return self.head(F.interpolate(blocks, scale_factor=8.0) + x)


class AffineStarReLU(nn.Module):
    """ResMLP's affine layer (``torch.addcmul`` of per-channel parameters) and PoolFormerV2's StarReLU
    (``s * relu(x) ** 2 + b``), on maps: per element, each frequency on its own."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.alpha = nn.Parameter(torch.full((1, 16, 1, 1), 0.5))
        self.beta = nn.Parameter(torch.zeros(1, 16, 1, 1))
        self.scale = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        y = torch.addcmul(self.beta, self.alpha, x)
        y = self.scale * F.relu(y) ** 2 + self.bias + (torch.square(x) + 1.0).rsqrt() * (x.pow(2) + 1.0).sqrt()
        return self.head(self.tail(y))


class Outlook(nn.Module):
    """VOLO: outlook attention's windows of a map (``nn.Unfold``), weighted and folded back (``F.fold``); the class
    head's ``max`` over tokens; LeViT's ``reshape_as`` and GCViT's ``repeat_interleave`` on the same tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.attn = nn.Conv2d(16, 9, 1)
        self.unfold = nn.Unfold(3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, c, h, w = x.shape
        a = torch.softmax(self.attn(x), dim=1).reshape(n, 1, 9, h * w)
        v = self.unfold(x).reshape(n, c, 9, h * w)
        y = F.fold((v * a).reshape(n, c * 9, h * w), (h, w), 3, padding=1)
        t = y.flatten(2).transpose(1, 2)  # (n, hw, c)
        t = t.reshape(n, h, w, c).reshape_as(t) + t.mean(0, keepdim=True).repeat_interleave(n, dim=0)
        return self.fc(t.max(1)[0])


class LayerScaleView(nn.Module):
    """timm's layer scales: a 1-D parameter viewed as ``(1, C, 1, 1)`` (``LayerScale2d``: EfficientFormer) or as
    ``(C, 1, 1)`` (MetaFormer's ``Scale``: ConvFormer) times a map."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.gamma = nn.Parameter(torch.linspace(0.5, 1.5, 16))
        self.mid = nn.Conv2d(16, 16, 3, 1, 1)
        self.scale = nn.Parameter(torch.linspace(-1.0, 1.0, 16))
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.conv(x) * self.gamma.view(1, -1, 1, 1)
        x = x + self.mid(x) * self.scale.view(16, 1, 1)
        return self.head(self.tail(x))


class SizedUpsample(nn.Module):
    """GhostNetV2's DFC attention: a gate computed at half resolution, upsampled back with
    ``F.interpolate(size=(out.shape[-2], out.shape[-1]))`` (sizes read from another map), and with an
    ``nn.Upsample(size=...)``, times the full map."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.short = nn.Conv2d(16, 16, 1)
        self.short2 = nn.Conv2d(16, 16, 1)
        self.up = nn.Upsample(size=(32, 32), mode="nearest")
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        out = self.conv(self.stem(x))
        res = self.short(F.avg_pool2d(out, kernel_size=2, stride=2))
        gate = F.interpolate(torch.sigmoid(res), size=(out.shape[-2], out.shape[-1]), mode="nearest")
        out = out * gate
        res2 = self.short2(F.avg_pool2d(out, kernel_size=2, stride=2))
        return self.head(self.tail(out * torch.sigmoid(self.up(res2))))


class PositionEmbedding(nn.Module):
    """A map plus a parameter with a spatial extent (a positional embedding): not one value per channel, so the
    map it meets stays vanilla (said at planning time), while the convs before and after it need not."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.pos = nn.Parameter(torch.linspace(-1.0, 1.0, 16 * 32 * 32).reshape(1, 16, 32, 32))
        self.down = nn.Conv2d(16, 32, 3, 2, 1)
        self.tail = nn.Conv2d(32, 32, 3, 1, 1)
        self.head = _Head(32)

    def forward(self, x):
        x = self.conv(self.stem(x)) + self.pos
        return self.head(self.tail(torch.relu(self.down(x))))


class ReshapeBack(nn.Module):
    """A map flattened for a 1-D op and reshaped back (as sequence mixers do), then added to a split map: the reshape
    gives one tensor, so the sum stays vanilla, said at planning time."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.branch = nn.Conv2d(16, 16, 1)
        self.mix = nn.Conv1d(16, 16, 3, 1, 1)
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        n, c, h, w = x.shape
        x = x + self.mix(self.branch(x).flatten(2)).reshape(n, c, h, w)
        return self.head(self.tail(x))


class AuxHead(nn.Module):
    """GoogLeNet / Inception v3 in eval mode: an auxiliary classifier that forward calls only while training, so the
    traced graph never reaches it (nor its parameters and buffers)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.aux = nn.Sequential(nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 32 * 32, 10))
        self.head = _Head(16)

    def forward(self, x):
        x = self.conv(self.stem(x))
        if self.training:  # fixed at trace time: the network is traced in eval mode
            return self.head(x), self.aux(x)
        return self.head(x)


class _PadToPatch(nn.Module):
    """MobileViT-style: pads the map when its size is not a multiple of the patch (a branch on the shape, which
    torch.fx cannot trace), then mixes channels with a product over positions (a bmm)."""

    def __init__(self, c: int, patch: int = 2) -> None:
        super().__init__()
        self.patch = patch
        self.local = nn.Conv2d(c, c, 3, 1, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.patch or w % self.patch:
            x = F.pad(x, (0, (-w) % self.patch, 0, (-h) % self.patch))
        y = self.local(x)
        t = y.flatten(2)
        mixed = torch.softmax(t @ t.transpose(1, 2) / t.shape[-1], dim=-1) @ t
        return x + self.proj(mixed.reshape(y.shape))


class TracedWhole(nn.Module):
    """Two blocks torch.fx cannot trace into (shape-dependent control flow): each is traced whole, one opaque op
    between octave convs; the rest of the network is planned and converted."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.blocks = nn.Sequential(_PadToPatch(16), nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU(), _PadToPatch(16))
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        return self.head(self.tail(self.blocks(self.conv(self.stem(x)))))


class AliasedModule(nn.Module):
    """CoaT: one module registered under two names (a block's ``crpe`` is also the model's ``crpe1``); the graph
    calls it by one name, and the other is an alias, not a module forward never calls."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16), nn.ReLU())
        self.shared = self.block[0]  # the same conv, a second name
        self.head = _Head(16)

    def forward(self, x):
        return self.head(self.block(self.conv(self.stem(x))))


def _clip_window(x: torch.Tensor, window: list[int]) -> torch.Tensor:
    """Changes its list argument, as torchvision's video Swin (``_get_window_and_shift_size``) does."""
    window[0] = min(window[0], x.shape[-1])
    return x[..., : window[0]]


torch.fx.wrap("_clip_window")  # kept as a call in the traced graph: its list argument becomes an immutable constant


class _Windowed(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return self.proj(_clip_window(x, [64]))


class ConstantMutation(nn.Module):
    """A block whose traced graph cannot run (a call changes a list the graph holds as a constant): traced whole."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _stem()
        self.conv = nn.Conv2d(16, 16, 3, 1, 1)
        self.block = _Windowed(16)
        self.tail = nn.Conv2d(16, 16, 3, 1, 1)
        self.head = _Head(16)

    def forward(self, x):
        return self.head(self.tail(self.block(self.conv(self.stem(x)))))


WILD: dict[str, tuple[type[nn.Module], int]] = {
    "channel_slice": (ChannelSlice, 32),
    "split_add": (SplitAdd, 32),
    "split_propagate": (SplitPropagate, 32),
    "spatial_crop": (SpatialCrop, 32),
    "prelu": (PReLUNet, 32),
    "layer_scale": (LayerScale, 32),
    "spatial_gate": (SpatialGate, 32),
    "shared_conv": (SharedConv, 32),
    "attention": (Attention, 32),
    "sdpa": (SDPA, 32),
    "sdpa_heads": (SDPAHeads, 32),
    "optional_args": (OptionalArgs, 32),
    "param_read": (ParamRead, 32),
    "transposed_conv": (TransposedConv, 32),
    "norms": (Norms, 32),
    "same_padding": (SamePadding, 32),
    "odd_size": (OddSize, 32),
    "conv1d_conv3d": (Conv1d3d, 32),
    "unknown_op": (Unknown, 32),
    "own_forward": (OwnForward, 32),
    "aux_head": (AuxHead, 32),
    "aliased_module": (AliasedModule, 32),
    "fourier_position": (FourierPosition, 32),
    "halo_blocks": (HaloBlocks, 32),
    "affine_star_relu": (AffineStarReLU, 32),
    "outlook": (Outlook, 32),
    "layer_scale_view": (LayerScaleView, 32),
    "sized_upsample": (SizedUpsample, 32),
    "position_embedding": (PositionEmbedding, 32),
    "reshape_back": (ReshapeBack, 32),
    "traced_whole": (TracedWhole, 32),
    "constant_mutation": (ConstantMutation, 32),
}
