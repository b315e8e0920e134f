# RetinaNet on the digit canvases with the `make demo` Mixer (windowed token mixing) and MixerPyramidNeck.
# `make demo-det` trains and tests it; see README, "As a detection backbone".
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    './_base_/datasets/digits_detection.py',
    './mixer-demo_detection_common.py',
]

model = dict(
    data_preprocessor={{_base_.mixer_data_preprocessor}},
    backbone={{_base_.mixer_backbone}},
    # Stride 8 from the stride-4 map, plus 16 and 32 by pooling: digits are 8-48 px tall.
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=64,
        out_channels={{_base_.neck_channels}},
        scale_factors=(0.5,),
        num_extra_levels=2,
    ),
    bbox_head=dict(
        num_classes=10,
        in_channels={{_base_.neck_channels}},
        feat_channels={{_base_.neck_channels}},
        stacked_convs=2,
        # Anchors of 16-102 px.
        anchor_generator=dict(octave_base_scale=2, strides=[8, 16, 32]),
    ),
)
