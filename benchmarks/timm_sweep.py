"""Third-party networks, priced as they exist: a reproducible sweep of 138 timm models from 138 families at
α ∈ {0, 0.5}, each in its own process (the checks and classes are ``benchmarks/sweep.py``'s).

    PYTHONPATH=. python benchmarks/timm_sweep.py                    # all models -> benchmarks/results/
    PYTHONPATH=. python benchmarks/timm_sweep.py --only resnet10t,vit_tiny_patch16_224 --out /tmp/sweep
    PYTHONPATH=. python benchmarks/timm_sweep.py --timeout 300

writes ``timm_sweep.json`` and ``timm_sweep.md`` (atomically, after every model).
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sweep

SUITE = "also in the suite"  # the note of the 24 models tests/test_timm.py checks too

# (family, timm name, input size, note): the families of the first hand sweep, then tests/test_timm.py's SAMPLE.
# Small inputs keep the sweep short; transformers with fixed position embeddings or windows get their native size.
MODELS: list[tuple[str, str, int, str]] = [
    ("MNASNet", "mnasnet_small", 64, ""),
    ("SPNASNet", "spnasnet_100", 64, ""),
    ("FBNet", "fbnetc_100", 64, ""),
    ("TinyNet", "tinynet_e", 64, ""),
    ("LCNet", "lcnet_050", 64, ""),
    ("HardCoReNAS", "hardcorenas_a", 64, ""),
    ("TF-MixNet", "tf_mixnet_s", 64, ""),
    ("EfficientNet", "efficientnet_b0", 64, ""),
    ("EfficientNetV2", "efficientnetv2_rw_t", 64, ""),
    ("NF-ResNet", "nf_resnet26", 64, ""),
    ("RegNetZ", "regnetz_b16", 64, ""),
    ("TResNet", "tresnet_m", 128, ""),
    ("CSPDarknet", "cspdarknet53", 64, ""),
    ("Darknet", "darknet17", 64, ""),
    ("CS3Darknet", "cs3darknet_s", 64, ""),
    ("Inception-v4", "inception_v4", 96, ""),
    ("Inception-ResNet-v2", "inception_resnet_v2", 96, ""),
    ("ResNet-T", "resnet26t", 64, ""),
    ("ResNet-RS", "resnetrs50", 64, ""),
    ("ResNet-blur", "resnetblur18", 64, ""),
    ("ResNetV2", "resnetv2_50", 64, ""),
    ("BoTNet", "sebotnet33ts_256", 256, ""),
    ("HaloNet", "halonet26t", 256, ""),
    ("LambdaNet", "lambda_resnet26t", 256, ""),
    ("ECA-ResNet", "eca_resnet33ts", 64, ""),
    ("GC-ResNet", "gcresnet33ts", 64, ""),
    ("Xception-tf", "xception41", 96, ""),
    ("EdgeNeXt", "edgenext_xx_small", 64, ""),
    ("PoolFormer", "poolformer_s12", 64, ""),
    ("MobileViT", "mobilevit_xxs", 64, ""),
    ("EfficientFormer", "efficientformer_l1", 224, ""),
    ("LeViT", "levit_128s", 224, ""),
    ("PiT", "pit_ti_224", 224, ""),
    ("ViT", "vit_tiny_patch16_224", 224, ""),
    ("Swin", "swin_tiny_patch4_window7_224", 224, ""),
    ("CoaT", "coat_lite_tiny", 224, ""),
    ("ConViT", "convit_tiny", 224, ""),
    ("CrossViT", "crossvit_tiny_240", 240, ""),
    ("MLP-Mixer", "mixer_s32_224", 224, ""),
    ("ResMLP", "resmlp_12_224", 224, ""),
    ("gMLP", "gmlp_ti16_224", 224, ""),
    ("RepViT", "repvit_m1", 64, ""),
    ("FastViT", "fastvit_t8", 64, ""),
    ("EfficientViT", "efficientvit_b0", 64, ""),
    ("EfficientViT-M", "efficientvit_m0", 224, ""),
    ("GhostNetV2", "ghostnetv2_100", 64, ""),
    ("HGNet", "hgnet_tiny", 64, ""),
    ("HGNetV2", "hgnetv2_b0", 64, ""),
    ("MambaOut", "mambaout_femto", 64, ""),
    ("StarNet", "starnet_s1", 64, ""),
    ("MobileNetV4", "mobilenetv4_conv_small", 64, ""),
    ("MobileOne", "mobileone_s0", 64, ""),
    ("VGG", "vgg11", 64, ""),
    ("ConvMixer", "convmixer_768_32", 64, ""),
    ("MobileNetV1", "mobilenetv1_100", 64, ""),
    ("MobileNetV2", "mobilenetv2_035", 64, ""),
    ("FasterNet", "fasternet_t0", 64, ""),
    ("SHViT", "shvit_s1", 224, ""),
    ("InceptionNeXt", "inception_next_tiny", 64, ""),
    ("RDNet", "rdnet_tiny", 64, ""),
    ("PoolFormerV2", "poolformerv2_s12", 64, ""),
    ("ConvFormer", "convformer_s18", 64, ""),
    ("SKResNeXt", "skresnext50_32x4d", 64, ""),
    ("SENet", "senet154", 64, ""),
    ("ResNeXt-ts", "resnext26ts", 64, ""),
    ("ByobNet-BAT", "bat_resnext26ts", 256, ""),
    ("Wide-ResNet", "wide_resnet50_2", 64, ""),
    ("VoVNet-a", "vovnet39a", 64, ""),
    ("CSPResNeXt", "cspresnext50", 64, ""),
    ("TF-EfficientNet", "tf_efficientnet_b0", 64, ""),
    ("DLA-c", "dla46_c", 64, ""),
    ("ResNet10t", "resnet10t", 64, ""),
    ("TinyViT", "tiny_vit_5m_224", 224, ""),
    ("FocalNet", "focalnet_tiny_srf", 224, ""),
    ("Visformer", "visformer_tiny", 224, ""),
    ("Sequencer", "sequencer2d_s", 224, ""),
    ("XCiT", "xcit_nano_12_p16_224", 224, ""),
    ("CoAtNet", "coatnet_nano_rw_224", 224, ""),
    ("MaxViT", "maxvit_nano_rw_256", 256, ""),
    ("GCViT", "gcvit_xxtiny", 224, ""),
    ("DaViT", "davit_tiny", 224, ""),
    ("Twins", "twins_svt_small", 224, ""),
    ("NesT", "nest_tiny", 224, ""),
    ("CaiT", "cait_xxs24_224", 224, ""),
    ("VOLO", "volo_d1_224", 224, ""),
    ("EfficientFormerV2", "efficientformerv2_s0", 224, ""),
    ("MobileViTv2", "mobilevitv2_050", 64, ""),
    # one model of each timm architecture module the list above did not reach
    ("CSPNeXt", "cspnext_tiny", 64, ""),
    ("LCNetV2", "lcnetv2_small", 64, ""),
    ("RepGhostNet", "repghostnet_050", 64, ""),
    ("SE-ResNet-legacy", "legacy_seresnet18", 64, ""),
    ("NASNet", "nasnetalarge", 96, ""),
    ("PNASNet", "pnasnet5large", 96, ""),
    ("Next-ViT", "nextvit_small", 224, ""),
    ("PVTv2", "pvt_v2_b0", 224, ""),
    ("SwiftFormer", "swiftformer_xs", 224, ""),
    ("EfficientViM", "efficientvim_m1", 224, ""),
    ("iFormer", "iformer_t", 224, ""),
    ("LowFormer", "lowformer_b0", 224, ""),
    ("CPUBone", "cpubone_nano", 224, ""),
    ("CSATv2", "csatv2", 512, ""),
    ("Hiera", "hiera_tiny_224", 224, ""),
    ("HieraDet", "hieradet_small", 256, ""),
    ("MViTv2", "mvitv2_tiny", 224, ""),
    ("SwinV2", "swinv2_tiny_window8_256", 256, ""),
    ("SwinV2-CR", "swinv2_cr_tiny_224", 224, ""),
    ("TNT", "tnt_s_patch16_224", 224, ""),
    ("ViT-RelPos", "vit_relpos_small_patch16_224", 224, ""),
    ("ViT-hybrid", "vit_small_r26_s32_224", 224, ""),
    ("ViTamin", "vitamin_small_224", 224, ""),
    ("DeiT", "deit_tiny_patch16_224", 224, ""),
    ("BEiT", "beit_base_patch16_224", 224, ""),
    ("EVA-02", "eva02_tiny_patch14_224", 224, ""),
    ("MobileNetV5", "mobilenetv5_base", 256, ""),
    # tests/test_timm.py's SAMPLE
    ("ResNet-D", "resnet18d", 64, SUITE),
    ("SE-ResNet", "seresnet18", 64, SUITE),
    ("SK-ResNet", "skresnet18", 64, SUITE),
    ("Res2Net", "res2net50_14w_8s", 64, SUITE),
    ("CSP", "cspresnet50", 64, SUITE),
    ("DPN", "dpn68", 64, SUITE),
    ("DLA", "dla34", 64, SUITE),
    ("GhostNet", "ghostnet_100", 64, SUITE),
    ("ReXNet", "rexnet_100", 64, SUITE),
    ("MixNet", "mixnet_s", 64, SUITE),
    ("RegNetX", "regnetx_002", 64, SUITE),
    ("RegNetY", "regnety_002", 64, SUITE),
    ("HRNet", "hrnet_w18_small", 96, SUITE),
    ("ConvNeXt", "convnext_atto", 96, SUITE),
    ("EfficientNet-lite", "efficientnet_lite0", 96, SUITE),
    ("VoVNet", "ese_vovnet19b_dw", 96, SUITE),
    ("ResNeSt", "resnest14d", 96, SUITE),
    ("MobileNetV3", "mobilenetv3_small_100", 96, SUITE),
    ("DenseNet", "densenet121", 96, SUITE),
    ("SelecSLS", "selecsls42b", 96, SUITE),
    ("GENet", "gernet_s", 96, SUITE),
    ("RepVGG", "repvgg_a0", 96, SUITE),
    ("Xception", "legacy_xception", 96, SUITE),
    ("Inception", "inception_v3", 96, SUITE),
]

# Models listed but not run, with the reason.  None at present: a model that runs past --timeout is reported TIMEOUT.
SKIPPED: dict[str, str] = {}


def check_model(name: str, size: int, alphas: tuple[float, ...] = sweep.ALPHAS) -> dict[str, Any]:
    """:func:`sweep.check_model` of ``timm:NAME``, in this process."""
    return sweep.check_model(f"timm:{name}", size, alphas)


if __name__ == "__main__":
    sys.exit(sweep.main("timm", MODELS, SKIPPED, __doc__))
