"""Third-party networks, priced as they exist: every classification and video model of torchvision
(``torchvision.models.list_models``) at α ∈ {0, 0.5}, each in its own process (the checks and classes are
``benchmarks/sweep.py``'s; the suite checks eight of them in ``tests/test_networks.py``).

    PYTHONPATH=. python benchmarks/torchvision_sweep.py --timeout 300     # all models -> benchmarks/results/
    PYTHONPATH=. python benchmarks/torchvision_sweep.py --only resnet18,r3d_18 --out /tmp/sweep

writes ``torchvision_sweep.json`` and ``torchvision_sweep.md`` (atomically, after every model).  Convolutional
networks run at 64 pixels (96 for Inception v3, whose reductions need it) to keep the sweep short; transformers with
fixed position embeddings or windows at their native 224; video models on clips of (frames, height, width).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sweep

CLIP = [8, 64, 64]  # frames, height, width: a short clip keeps the 3-D networks quick
NATIVE = 224
REGNET = ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")

# (family, torchvision name, input size, note)
MODELS: list[sweep.Model] = [
    ("AlexNet", "alexnet", 64, ""),
    *(("VGG", f"vgg{d}{bn}", 64, "") for d in (11, 13, 16, 19) for bn in ("", "_bn")),
    *(("ResNet", f"resnet{d}", 64, "") for d in (18, 34, 50, 101, 152)),
    *(("ResNeXt", n, 64, "") for n in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d")),
    *(("Wide ResNet", n, 64, "") for n in ("wide_resnet50_2", "wide_resnet101_2")),
    *(("DenseNet", f"densenet{d}", 64, "") for d in (121, 161, 169, 201)),
    ("GoogLeNet", "googlenet", 64, ""),
    ("Inception v3", "inception_v3", 96, ""),
    *(("SqueezeNet", n, 64, "") for n in ("squeezenet1_0", "squeezenet1_1")),
    *(("ShuffleNet v2", f"shufflenet_v2_x{w}", 64, "") for w in ("0_5", "1_0", "1_5", "2_0")),
    *(("MNASNet", f"mnasnet{w}", 64, "") for w in ("0_5", "0_75", "1_0", "1_3")),
    ("MobileNet v2", "mobilenet_v2", 64, ""),
    *(("MobileNet v3", f"mobilenet_v3_{s}", 64, "") for s in ("small", "large")),
    *(("EfficientNet", f"efficientnet_b{i}", 64, "") for i in range(8)),
    *(("EfficientNet v2", f"efficientnet_v2_{s}", 64, "") for s in ("s", "m", "l")),
    *(("RegNetX", f"regnet_x_{f}", 64, "") for f in REGNET),
    *(("RegNetY", f"regnet_y_{f}", 64, "") for f in (*REGNET, "128gf")),
    *(("ConvNeXt", f"convnext_{s}", 64, "") for s in ("tiny", "small", "base", "large")),
    *(("ViT", f"vit_{s}", NATIVE, "") for s in ("b_16", "b_32", "l_16", "l_32", "h_14")),
    *(("Swin", f"swin_{s}", NATIVE, "") for s in ("t", "s", "b")),
    *(("Swin v2", f"swin_v2_{s}", NATIVE, "") for s in ("t", "s", "b")),
    ("MaxViT", "maxvit_t", NATIVE, ""),
    # video (torchvision.models.video)
    *(("Video ResNet", n, CLIP, "video") for n in ("r3d_18", "mc3_18", "r2plus1d_18")),
    ("S3D", "s3d", [16, NATIVE, NATIVE], "video"),  # its last pooling needs 16 frames of 224 pixels
    *(("Video MViT", n, [16, NATIVE, NATIVE], "video") for n in ("mvit_v1_b", "mvit_v2_s")),
    *(("Video Swin", f"swin3d_{s}", [8, NATIVE, NATIVE], "video") for s in ("t", "s", "b")),
]

# Models listed but not run, with the reason.  None at present: a model that runs past --timeout is reported TIMEOUT.
SKIPPED: dict[str, str] = {}

if __name__ == "__main__":
    sys.exit(sweep.main("torchvision", MODELS, SKIPPED, __doc__))
