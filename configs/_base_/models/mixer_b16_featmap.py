# Mixer-B/16 as a dense-prediction backbone (a stride-16 feature map), shared by the COCO detection and the ADE20K
# segmentation configs. Scope-free: the configs that inherit it set their own scope.
#
# Size handling: token_mixing='window'. The ImageNet-pretrained token-mixing MLPs (a 14x14 token grid, i.e.
# 224x224 px) are applied inside non-overlapping 224x224 windows (the last row and column of windows zero-padded),
# so any input size works and no new parameters are added. The alternative is a fixed size with weights resized by
# mmmixer.models.resize_token_mixing; see README.
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
