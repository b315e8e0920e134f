# The `make demo` Mixer as a dense-prediction backbone (a feature map), shared by the digit detection and
# segmentation demos. Scope-free: the detection and segmentation configs that inherit it set their own scope.
#
# Pretrained weights: the classification checkpoint that `make demo` writes (configs/mixer-demo_digits.py: 64 channels,
# 4 blocks, patch 4, trained on 32x32 digits, i.e. an 8x8 token grid). Any mmpretrain/mmmixer Mixer checkpoint with
# this arch loads; one trained on another grid is adapted when loaded (see README, "As a detection backbone").
#
# Size handling: token_mixing='window' applies the pretrained 8x8-token MLPs inside non-overlapping 32x32-pixel
# windows of the 128x128 canvas (4x4 windows): the checkpoint loads as it is, no new parameters.
pretrained = 'work_dirs/demo/epoch_15.pth'
custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)

mixer_backbone = dict(
    _delete_=True,
    type='mmmixer.MlpMixer',
    arch=dict(embed_dims=64, num_layers=4, tokens_mlp_dims=32, channels_mlp_dims=256),
    img_size=32,
    patch_size=4,
    token_mixing='window',
    out_indices=(-1,),
    out_type='featmap',
    init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'),
)
