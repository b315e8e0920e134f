# Mask R-CNN with a Mixer-B/16 backbone (windowed token mixing) and MixerPyramidNeck, COCO 1x schedule.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './mixer-b16_detection_common.py',
]

model = dict(
    data_preprocessor={{_base_.mixer_data_preprocessor}},
    backbone={{_base_.mixer_backbone}},
    # Strides 4, 8, 16, 32 from the stride-16 map, plus 64 by pooling for the RPN: the FPN's P2-P6.
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_extra_levels=1,
    ),
)

optim_wrapper = {{_base_.mixer_optim_wrapper}}
