# ImageNet-1k at 224 px for MLP-Mixer.
#
# Test pipeline = timm's eval transform for the Google Mixer weights (mixer_b16_224 / mixer_l16_224):
# shorter side -> 256 (bicubic, PIL), centre crop 224, mean = std = 127.5 (i.e. 0.5 on [0, 1]), RGB.
# PIL decoding and resizing make it identical to timm; OpenCV's bicubic differs by up to tens of grey levels.
#
# Train pipeline = the paper's ImageNet-1k recipe, op for op as big_vision computes it (configs/mlp_mixer_i1k.py:
# decode_jpeg_and_inception_crop(224) | flip_lr | randaug(2, 15)); docs/recipe.md compares it with mmpretrain's.
# Mixup is set on the model.
#
# Loading: the workers stack each batch into one uint8 tensor (default_collate), which is copied to the
# GPU from pinned memory in one transfer and normalised there as a whole; workers stay alive between
# epochs. (mmengine's default pseudo_collate hands the model a list of images, processed one by one.)
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(num_classes=1000, mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)

# TensorFlow's RandAugment (big_vision pp/archive/autoaugment.py, distort_image_with_randaugment): each of the
# 2 layers picks one of these 16 ops uniformly and always applies it. Values at magnitude 15, from level_to_arg
# (_MAX_LEVEL = 10, so level 15 goes 1.5x past the range the ops were designed for); fill 128 where pixels are
# uncovered. mmpretrain's own op is used where it computes exactly what TensorFlow computes and is fast;
# `mmmixer.TF*` ops where it is not (tests/test_transforms/test_recipe.py compares every op with TensorFlow's output).
#
# | op           | TensorFlow at level 15                                  | here                                   |
# |--------------|---------------------------------------------------------|----------------------------------------|
# | AutoContrast | per channel, float32 stretch                            | mmmixer.TFAutoContrast                 |
# | Equalize     | PIL's histogram equalisation                            | mmmixer.TFEqualize                     |
# | Invert       | 255 - x                                                 | Invert (mmpretrain)                    |
# | Rotate       | 15/10 * 30 = 45 degrees, random sign, nearest           | TFGeometric rotate 45                  |
# | Posterize    | keep int(15/10 * 4) = 6 bits                            | Posterize bits=6 (mmpretrain)          |
# | Solarize     | threshold int(15/10 * 256) = 384, which TensorFlow      | mmmixer.TFSolarize threshold=128       |
# |              | converts to uint8 as 384 - 256 = 128: not a no-op       |                                        |
# | Color        | factor 15/10 * 1.8 + 0.1 = 2.8, never negated           | TFEnhance color 2.8                    |
# | Contrast     | factor 2.8, towards grey H*W/256 (196 at 224 px)        | TFEnhance contrast 2.8                 |
# | Brightness   | factor 2.8                                              | TFEnhance brightness 2.8               |
# | Sharpness    | factor 2.8, PIL's SMOOTH kernel inside a 1-px border     | TFEnhance sharpness 2.8                |
# | ShearX/Y     | 15/10 * 0.3 = 0.45, random sign, about the top-left     | TFGeometric shear_x / shear_y 0.45     |
# | TranslateX/Y | 15/10 * 100 = 150 px (translate_const), random sign     | TFGeometric translate_x / _y 150       |
# | Cutout       | pad int(15/10 * 40) = 60: a 120 px square, clipped      | TFCutout pad_size=60                   |
# | SolarizeAdd  | +int(15/10 * 110) = 165 below 128, clipped at 255       | TFSolarizeAdd addition=165             |
tf_randaugment_level15 = [
    dict(type='mmmixer.TFAutoContrast'),
    dict(type='mmmixer.TFEqualize'),
    dict(type='Invert', prob=1.0),
    dict(type='mmmixer.TFGeometric', kind='rotate', magnitude=45.0),
    dict(type='Posterize', bits=6, prob=1.0),
    dict(type='mmmixer.TFSolarize', threshold=128),
    dict(type='mmmixer.TFEnhance', kind='color', factor=2.8),
    dict(type='mmmixer.TFEnhance', kind='contrast', factor=2.8),
    dict(type='mmmixer.TFEnhance', kind='brightness', factor=2.8),
    dict(type='mmmixer.TFEnhance', kind='sharpness', factor=2.8),
    dict(type='mmmixer.TFGeometric', kind='shear_x', magnitude=0.45),
    dict(type='mmmixer.TFGeometric', kind='shear_y', magnitude=0.45),
    dict(type='mmmixer.TFGeometric', kind='translate_x', magnitude=150.0),
    dict(type='mmmixer.TFGeometric', kind='translate_y', magnitude=150.0),
    dict(type='mmmixer.TFCutout', pad_size=60),
    dict(type='mmmixer.TFSolarizeAdd', addition=165),
]
train_pipeline = [
    # JPEGs decoded as tf.image.decode_and_crop_jpeg decodes them (fast integer IDCT; docs/recipe.md).
    dict(type='mmmixer.LoadImageTF'),
    # decode_jpeg_and_inception_crop(224) (big_vision pp/ops_image.py): area 5-100%, aspect ratio 0.75-1.33,
    # tf.image.resize bilinear without antialiasing.
    dict(type='mmmixer.InceptionCrop', size=224, area_range=(0.05, 1.0), aspect_ratio_range=(0.75, 1.33)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # num_policies ops drawn uniformly with replacement; hparams={} keeps RandAugment from adding its pad_val.
    dict(type='RandAugment', policies=tf_randaugment_level15, num_policies=2, magnitude_level=15, hparams=dict()),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    # = ResizeEdge(256, edge='short', backend='pillow', interpolation='bicubic') | CenterCrop(224), computed on the
    # crop's region only (an 8x3000 strip would otherwise be resized to 256x96000 first); the same pixels.
    dict(type='mmmixer.ResizeEdgeCenterCrop', scale=256, crop_size=224, interpolation='bicubic'),
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
