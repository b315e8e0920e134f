# RetinaNet with a Mixer-B/16 backbone (windowed token mixing) and MixerPyramidNeck, COCO 1x schedule.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './mixer-b16_detection_common.py',
]

model = dict(
    data_preprocessor={{_base_.mixer_data_preprocessor}},
    backbone={{_base_.mixer_backbone}},
    # Strides 8, 16, 32 from the stride-16 map, plus 64 and 128 by pooling: RetinaNet's P3-P7.
    neck=dict(
        _delete_=True,
        type='mmmixer.MixerPyramidNeck',
        in_channels=768,
        out_channels=256,
        scale_factors=(2.0, 1.0, 0.5),
        num_extra_levels=2,
    ),
)

optim_wrapper = {{_base_.mixer_optim_wrapper}}
