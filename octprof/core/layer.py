"""Closed-form cost of one octave convolution, path by path, in integers: 1-D, 2-D and 3-D.

The semantics are those of the paper's official implementation:

- channel split: ``low = int(α·C)`` (floor for α ≥ 0, computed in floating point as the official code does),
  ``high = C − low``; a part with 0 channels disables every path that reads or writes it;
- H→H convolves the high map; H→L convolves the high map after 2×2 average pooling; L→H convolves the low
  map and upsamples its output 2× (nearest); L→L convolves the low map; the two paths that meet at an output
  are added;
- stride 2 (``stride_rule="pool"``, the paper's choice): the high map is average-pooled 2×2 first and every
  convolution runs at stride 1; H→L pools once more; L→L pools its input; L→H convolves the *un-pooled* low
  map and is not upsampled.  ``stride_rule="conv"`` (the paper's Table-3 ablation) uses strided convolutions
  instead: H→H and L→L at the layer stride, H→L at twice the layer stride, no pooling;
- groups: every path keeps the layer's groups; a depthwise layer (groups = in = out channels) keeps only H→H
  (groups = high channels) and L→L (groups = low channels);
- bias: on one of the two paths that meet at an output — H→H (else L→H) for the high output, H→L (else L→L)
  for the low output.

Other dimensionalities (``dims``): the low map is an octave lower along every *octave axis*: the length of a
1-D map; height and width of a 3-D map, and its time axis too with ``temporal=True`` (else time is kept).
Pooling and upsampling act on the octave axes only (3-D: 1×2×2, or 2×2×2 with ``temporal``).  The stride may
differ per axis (each 1 or 2, e.g. 1×2×2 for a video conv that keeps time): per axis, the pooled high map is
the stride; where the stride exceeds the octave factor (a time stride of 2 with time kept), L→H pools its input
on that axis (``stride_rule="conv"``: convolves it at that stride) instead of being upsampled.

Ablations (``paths``): any subset of ``h2h``, ``h2l``, ``l2h``, ``l2l``; a path outside it is not built.  The
paths a layer keeps are those of the subset the split allows; every present output part must still be fed and
every present input part read by one of them.

Odd sizes (``odd_size``): ``"vanilla"`` (the official code) refuses a pooled axis of odd size; ``"ceil"``
average-pools with ceil mode (the low map has ⌈n/2⌉ along an octave axis; a partial window divides by the
elements it covers) and upsamples L→H to the exact size of the high output.

Conventions (all integers): ``macs`` multiply-accumulates of convolutions; ``flops`` = 2 × macs;
``paper_flops`` = multiply-adds + one per bias addition + pooling outputs × kernel volume (4 for 2×2; a
ceil-mode window at the border is counted whole, as the network pooling rule counts it; BN, additions and
upsampling count 0); ``fvcore_flops`` = fvcore's count: one per multiply-add, nearest upsampling one per output
element for 2-D maps (fvcore has no handle for 1-D and 3-D upsampling, so they count 0), pooling and
additions 0.

This module is the import path of all of it; the code lies in ``layer_base`` (path and option names, number
checks, channel split, axis sizes), ``layer_spec`` (:class:`OctConvSpec`), ``layer_paths`` (the paths a layer
builds and their geometry) and ``layer_rows`` (the cost rows and :func:`layer_cost`).
"""

from octprof.core.layer_base import (
    DIMS,
    DTYPE_BYTES,
    GLUE,
    ODD_SIZES,
    PATHS,
    STRIDE_RULES,
    Pair,
    Shape,
    Sizes,
    check_alpha,
    check_positive,
    conv_output_size,
    half,
    parse_paths,
    split_channels,
)
from octprof.core.layer_paths import Geometry, check_paths, conv_paths, geometry
from octprof.core.layer_rows import COUNT_FIELDS, CostRow, LayerCost, layer_cost
from octprof.core.layer_spec import OctConvSpec

__all__ = [
    "COUNT_FIELDS",
    "DIMS",
    "DTYPE_BYTES",
    "GLUE",
    "ODD_SIZES",
    "PATHS",
    "STRIDE_RULES",
    "CostRow",
    "Geometry",
    "LayerCost",
    "OctConvSpec",
    "Pair",
    "Shape",
    "Sizes",
    "check_alpha",
    "check_paths",
    "check_positive",
    "conv_output_size",
    "conv_paths",
    "geometry",
    "half",
    "layer_cost",
    "parse_paths",
    "split_channels",
]
