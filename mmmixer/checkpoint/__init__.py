"""Checkpoints, loaded safely: torch's ``weights_only`` unpickler with an explicit allow-list, scoped to our loads.

* :mod:`.safe_load`: :func:`load_checkpoint_safely` and the allow-list;
* :mod:`.schemes`: every mmengine scheme (local, ``http(s)://``, ``torchvision://`` ...) routed through it
  (:func:`mmmixer.patches.install_safe_loaders`, which ``import mmmixer`` calls);
* :mod:`.file_kinds`: what a file is from its first bytes, for the error messages;
* :mod:`.publish`: a training checkpoint made into a published, hash-named one.
"""

from .file_kinds import HEAD_SIZE, describe_file_start, is_pickle, is_zip, read_head
from .publish import TRAINING_ONLY_KEYS, add_hash_to_name, publish_checkpoint, sha256_of
from .safe_load import (
    SAFE_GLOBAL_SUBSTITUTES,
    SAFE_GLOBALS,
    CheckpointError,
    UnsafeCheckpointError,
    allow_listed,
    load_checkpoint_safely,
)
from .schemes import SAFE_SCHEME_LOADERS, download_to_hub_cache

__all__ = [
    'HEAD_SIZE',
    'SAFE_GLOBALS',
    'SAFE_GLOBAL_SUBSTITUTES',
    'SAFE_SCHEME_LOADERS',
    'TRAINING_ONLY_KEYS',
    'CheckpointError',
    'UnsafeCheckpointError',
    'add_hash_to_name',
    'allow_listed',
    'describe_file_start',
    'download_to_hub_cache',
    'is_pickle',
    'is_zip',
    'load_checkpoint_safely',
    'publish_checkpoint',
    'read_head',
    'sha256_of',
]
