# ImageNet-1k at 224 px for MLP-Mixer.
#
# Test pipeline = timm's eval transform for the Google Mixer weights (mixer_b16_224 / mixer_l16_224):
# shorter side -> 256 (bicubic, PIL), centre crop 224, mean = std = 127.5 (i.e. 0.5 on [0, 1]), RGB.
# PIL decoding and resizing make it identical to timm; OpenCV's bicubic differs by up to tens of grey levels.
#
# Train pipeline = the paper's ImageNet-1k recipe: RandAugment(2, 15) as in TensorFlow's RandAugment, whose
# levels run to 10, so level 15 goes 1.5x past the usual range (mmpretrain does not clip it either).
# Mixup is set on the model.
#
# Loading: the workers stack each batch into one uint8 tensor (default_collate), which is copied to the
# GPU from pinned memory in one transfer and normalised there as a whole; workers stay alive between
# epochs. (mmengine's default pseudo_collate hands the model a list of images, processed one by one.)
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(num_classes=1000, mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)

bgr_mean = [127.5, 127.5, 127.5]
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=15,
        magnitude_std=0.0,
        hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic'),
    ),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=5,
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=5,
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
