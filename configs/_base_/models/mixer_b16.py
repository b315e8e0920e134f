# Mixer-B/16 image classifier (paper Table 1), 1000 ImageNet classes.
# The backbone returns mmpretrain's Mixer layout, (B, C, N) tokens, so the neck pools over dim 1 exactly as in
# mmpretrain's configs/_base_/models/mlp_mixer_base_patch16.py.
custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmmixer.MlpMixer', arch='b', img_size=224, patch_size=16),
    neck=dict(type='GlobalAveragePooling', dim=1),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # Zero-initialised head, as in the paper's code and timm.
        init_cfg=dict(type='Constant', layer='Linear', val=0),
    ),
)
