"""The octave convolution the closed form describes, and per-frequency helpers.

A split feature map travels as a pair ``(high, low)``: ``high`` at full resolution, ``low`` an octave lower
(half the height and width; for 1-D maps half the length, for 3-D maps half the height and width, and half
the frames with ``temporal=True``).  A part with no channels is ``None``.  A vanilla map is a plain tensor.

This module is the import path of both; the code lies in ``octprof.octconv`` (:class:`OctConv1d`, :class:`OctConv2d`,
:class:`OctConv3d`, :func:`octconv_class`) and ``octprof.freq`` (the pair type and the per-frequency helpers and
modules).
"""

from __future__ import annotations

from octprof.freq import (
    FreqBatchNorm2d,
    FreqPReLU,
    OctLike,
    OctPair,
    PerFrequency,
    oct_add,
    oct_cat,
    oct_div,
    oct_merge,
    oct_mul,
    oct_parts,
    oct_split,
    oct_sub,
)
from octprof.octconv import OctConv1d, OctConv2d, OctConv3d, octconv_class

__all__ = [
    "FreqBatchNorm2d",
    "FreqPReLU",
    "OctConv1d",
    "OctConv2d",
    "OctConv3d",
    "OctLike",
    "OctPair",
    "PerFrequency",
    "oct_add",
    "oct_cat",
    "oct_div",
    "oct_merge",
    "oct_mul",
    "oct_parts",
    "oct_split",
    "oct_sub",
    "octconv_class",
]
