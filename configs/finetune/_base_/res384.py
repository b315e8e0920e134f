# Pipelines at 384 px, big_vision's default: crop='resmall_crop' -> resize_small(448)|random_crop(384)|flip_lr
# (configs/transfer.py:103, :110, defaults :154-155); evaluation resize_small(448)|central_crop(384) (:113).
# resize_small uses TensorFlow's 'area' resize (big_vision pp/ops_image.py:108); PIL's 'box' filter is its
# counterpart here (not compared pixel for pixel). The inception crop (transfer.py:100-101, the docstring's choice
# for Pets and Flowers, lines 25-26) is mmmixer.InceptionCrop(size=384, area_range=(0.05, 1.0)).
img_size = 384
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeEdge', scale=448, edge='short', backend='pillow', interpolation='box'),
    dict(type='RandomCrop', crop_size=384),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    # = ResizeEdge(448, edge='short', backend='pillow', interpolation='box') | CenterCrop(384), computed on the
    # crop's region only (the same pixels; no large intermediate for a long strip)
    dict(type='mmmixer.ResizeEdgeCenterCrop', scale=448, crop_size=384, interpolation='box'),
    dict(type='PackInputs'),
]
