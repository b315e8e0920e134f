# Pipelines at 448 px (a 28x28 token grid, 2 x 14: the block-diagonal token-mixing init applies):
# resize_small(523)|random_crop(448)|flip_lr, evaluation resize_small(523)|central_crop(448): big_vision's 448/384
# ratio (configs/transfer.py:155) applied to 448 (523 = round(448 * 7/6); big_vision has no 448-px preset).
# resize_small uses TensorFlow's 'area' resize (big_vision pp/ops_image.py:108); PIL's 'box' filter is its
# counterpart here (not compared pixel for pixel). The inception crop (transfer.py:100-101, the docstring's choice
# for Pets and Flowers, lines 25-26) is mmmixer.InceptionCrop(size=448, area_range=(0.05, 1.0)).
img_size = 448
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeEdge', scale=523, edge='short', backend='pillow', interpolation='box'),
    dict(type='RandomCrop', crop_size=448),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    # = ResizeEdge(523, edge='short', backend='pillow', interpolation='box') | CenterCrop(448), computed on the
    # crop's region only (the same pixels; no large intermediate for a long strip)
    dict(type='mmmixer.ResizeEdgeCenterCrop', scale=523, crop_size=448, interpolation='box'),
    dict(type='PackInputs'),
]
