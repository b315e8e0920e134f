"""Transfer: fine-tuning a pretrained Mixer on new classes (big_vision's protocol), on a folder of one's own images."""

from mmmixer.transfer.finetune import finetune_overrides, transfer_pipelines
from mmmixer.transfer.folders import ClassFolders, check_same_classes, read_class_folders
from mmmixer.transfer.pretrained import PretrainedMixer, read_pretrained_mixer
from mmmixer.transfer.schedule import Schedule, transfer_schedule

__all__ = [
    'ClassFolders',
    'PretrainedMixer',
    'Schedule',
    'check_same_classes',
    'finetune_overrides',
    'read_class_folders',
    'read_pretrained_mixer',
    'transfer_pipelines',
    'transfer_schedule',
]
