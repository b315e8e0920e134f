# Shared by the Mixer-B/16 detection configs in this folder (mmdet 3.3, COCO).
#
# Size handling: token_mixing='window'. The ImageNet-pretrained token-mixing MLPs (a 14x14 token grid, i.e.
# 224x224 px) are applied inside non-overlapping 224x224 windows, so the usual mmdet resize (shorter side 800,
# longer <= 1333, any aspect ratio) works unchanged and no new parameters are added. The alternative is a fixed
# size (ViTDet-style LSJ at 1024x1024) with weights resized by mmmixer.models.resize_token_mixing; see README.
#
# Pretrained weights: convert timm's mixer_b16_224 with
#   python tools/model_converters/timm_to_mmmixer.py jx_mixer_b16_224-76587d61.pth checkpoints/mixer-b16_in1k.pth
pretrained = 'checkpoints/mixer-b16_in1k.pth'
custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)

mixer_backbone = dict(
    _delete_=True,
    type='mmmixer.MlpMixer',
    arch='b',
    img_size=224,
    patch_size=16,
    token_mixing='window',
    out_indices=(-1,),
    out_type='featmap',
    drop_path_rate=0.1,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
)
mixer_data_preprocessor = dict(
    type='DetDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True, pad_size_divisor=32
)
# AdamW with layer-wise LR decay over the 12 Mixer blocks (ViTDet-style fine-tuning).
mixer_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmixer.MixerLayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(layer_decay_rate=0.7, norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0),
)
