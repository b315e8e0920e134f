# Pipelines at 224 px: resize_small(261)|random_crop(224)|flip_lr, evaluation resize_small(261)|central_crop(224):
# big_vision's 448/384 ratio (configs/transfer.py:155, used at :103 and :113) applied to 224 (261 = round(224 * 7/6)).
# resize_small uses TensorFlow's 'area' resize (big_vision pp/ops_image.py:108); PIL's 'box' filter is its
# counterpart here (not compared pixel for pixel). The inception crop (transfer.py:100-101, the docstring's choice
# for Pets and Flowers, lines 25-26) is mmmixer.InceptionCrop(size=224, area_range=(0.05, 1.0)).
img_size = 224
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeEdge', scale=261, edge='short', backend='pillow', interpolation='box'),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    # = ResizeEdge(261, edge='short', backend='pillow', interpolation='box') | CenterCrop(224), computed on the
    # crop's region only (the same pixels; no large intermediate for a long strip)
    dict(type='mmmixer.ResizeEdgeCenterCrop', scale=261, crop_size=224, interpolation='box'),
    dict(type='PackInputs'),
]
