# Mask R-CNN on the digit canvases with the `make demo` Mixer (windowed token mixing) and MixerPyramidNeck.
# `python tools/run_demo_det.py --config configs/detection/mask-rcnn_mixer-demo_pyramid_digits.py` trains and tests it.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    './_base_/datasets/digits_instance.py',
    './mixer-demo_detection_common.py',
]
channels = {{_base_.neck_channels}}

model = dict(
    data_preprocessor={{_base_.mixer_data_preprocessor}},
    backbone={{_base_.mixer_backbone}},
    # Strides 4, 8 from the stride-4 map, plus 16 and 32 by pooling (the last for the RPN only).
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=64,
        out_channels=channels,
        scale_factors=(1.0, 0.5),
        num_extra_levels=2,
    ),
    rpn_head=dict(
        in_channels=channels,
        feat_channels=channels,
        anchor_generator=dict(scales=[4], strides=[4, 8, 16, 32]),
    ),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels, featmap_strides=[4, 8, 16]),
        bbox_head=dict(in_channels=channels, fc_out_channels=256, num_classes=10),
        mask_roi_extractor=dict(out_channels=channels, featmap_strides=[4, 8, 16]),
        mask_head=dict(num_convs=2, in_channels=channels, conv_out_channels=channels, num_classes=10),
    ),
    # Fewer proposals and sampled RoIs than on COCO: a canvas holds 2-5 digits.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64)),
    ),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
    ),
)
