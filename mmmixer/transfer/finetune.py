"""What ``mmmixer finetune CHECKPOINT DIR`` changes in the custom fine-tuning config: the folders, their classes, the
backbone the checkpoint holds, the resolution, and the schedule scaled to the folder (:mod:`.schedule`)."""

from __future__ import annotations

from mmmixer.transfer.folders import ClassFolders
from mmmixer.transfer.pretrained import PretrainedMixer
from mmmixer.transfer.schedule import Schedule, schedule_config, transfer_schedule

# big_vision resizes the shorter side to h_res = 448 before cropping l_res = 384 (configs/transfer.py:103, :113,
# :155); other resolutions keep that ratio.
RESIZE_RATIO = 448 / 384


def transfer_pipelines(img_size: int) -> tuple[list[dict], list[dict]]:
    """Training (resize_small | random_crop | flip) and evaluation (resize_small | central_crop) pipelines at
    ``img_size``: those of configs/finetune/_base_/res{224,384,448}.py."""
    resize_small = round(img_size * RESIZE_RATIO)
    load = dict(type='LoadImageFromFile', imdecode_backend='pillow')
    train = [
        load,
        dict(type='ResizeEdge', scale=resize_small, edge='short', backend='pillow', interpolation='box'),
        dict(type='RandomCrop', crop_size=img_size),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    # ResizeEdge | CenterCrop, computed on the crop's region only (mmmixer/transforms/resize_crop.py)
    centre = dict(type='mmmixer.ResizeEdgeCenterCrop', scale=resize_small, crop_size=img_size, interpolation='box')
    return train, [load, centre, dict(type='PackInputs')]


def fine_tuning_arch(pretrained: PretrainedMixer, img_size: int) -> dict:
    """The backbone's arch at ``img_size``: the checkpoint's, with token-mixing MLPs K times wider when the new token
    grid is K times the pretrained one (the block-diagonal init then loads them); otherwise the same widths, and the
    weights are resampled bilinearly when they load (mmmixer/models/utils/checkpoint_compat.py)."""
    old_grid = pretrained.img_size // pretrained.patch_size
    new_grid = -(-img_size // pretrained.patch_size)  # the patch embedding pads a partial patch
    arch = dict(pretrained.arch)
    if new_grid > old_grid and new_grid % old_grid == 0:
        arch['tokens_mlp_dims'] *= (new_grid // old_grid) ** 2
    return arch


def finetune_overrides(
    checkpoint: str,
    pretrained: PretrainedMixer,
    train: ClassFolders,
    val: ClassFolders | None,
    img_size: int,
    batch_size: int,
    steps: int | None = None,
) -> tuple[dict, Schedule]:
    """The config keys to merge into the custom config, and the schedule they set."""
    batch_size = min(batch_size, train.num_images)  # a smaller folder makes every batch the whole folder
    schedule = transfer_schedule(train.num_images, batch_size, steps)
    train_pipeline, test_pipeline = transfer_pipelines(img_size)

    def loader(root: str, pipeline: list[dict]) -> dict:  # CustomDataset: the classes are the sub-folders' names
        return dict(batch_size=batch_size, dataset=dict(data_root=root, pipeline=pipeline))

    overrides = {
        'model.backbone.arch': dict(_delete_=True, **fine_tuning_arch(pretrained, img_size)),  # replaces 'b'
        'model.backbone.patch_size': pretrained.patch_size,
        'model.backbone.img_size': img_size,
        'model.backbone.init_cfg.checkpoint': checkpoint,
        'model.head.num_classes': len(train.classes),
        'model.head.in_channels': pretrained.arch['embed_dims'],
        'train_dataloader': loader(train.root, train_pipeline),
        **schedule_config(schedule, validate=val is not None),
    }
    if val is not None:
        overrides['val_dataloader'] = overrides['test_dataloader'] = loader(val.root, test_pipeline)
    return overrides, schedule
