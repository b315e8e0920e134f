# Mixer-S/16 image classifier (paper Table 1), 1000 ImageNet classes.
custom_imports = dict(imports=['mmmixer'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmmixer.MlpMixer', arch='s', img_size=224, patch_size=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        # Zero-initialised head, as in the paper's code and timm.
        init_cfg=dict(type='Constant', layer='Linear', val=0),
    ),
)
