"""Read Mixer weights from timm files (.pth/.pt/.bin/.safetensors), mmmixer checkpoints and Google's .npz,
as timm-named tensors (see :mod:`.names`)."""

from __future__ import annotations

import argparse
import os
import zipfile
from collections.abc import Iterator

import numpy as np
import torch

from mmmixer.checkpoint import CheckpointError, describe_file_start, is_zip, load_checkpoint_safely, read_head
from mmmixer.converters.errors import ConversionError
from mmmixer.converters.names import mmmixer_to_timm_names
from mmmixer.converters.progress import ProgressFile, progress_bar

# '.pth.tar' is what timm's train.py writes (model_best.pth.tar, checkpoint-N.pth.tar).
TORCH_EXTENSIONS = ('.pth', '.pt', '.bin', '.pth.tar')
SUPPORTED_EXTENSIONS = (*TORCH_EXTENSIONS, '.safetensors', '.npz')
NESTED_KEYS = ('state_dict', 'model', 'state_dict_ema')

# timm's train.py saves its command line (an argparse.Namespace) under 'args'. Allowing the class is
# safe: torch's weights_only unpickler only creates an allowed class with ``cls.__new__`` and fills
# it with ``__dict__.update`` of already-unpickled (allowed) values; no method of it runs, and
# Namespace(...) itself takes keyword arguments only, so a pickle cannot use it to call anything.
# Only the converters allow it: mmengine's loaders keep the Runner allow-list.
TRAINING_CHECKPOINT_GLOBALS = (argparse.Namespace,)


def extension_of(path: str) -> str:
    """The file's extension, lower case; '.pth.tar' counts as one."""
    name = os.path.basename(path).lower()
    return '.pth.tar' if name.endswith('.pth.tar') else os.path.splitext(name)[1]


def source_format(path: str) -> str:
    ext = extension_of(path)
    if ext in TORCH_EXTENSIONS:
        return 'torch'
    if ext == '.safetensors':
        return 'safetensors'
    if ext == '.npz':
        return 'npz'
    raise ConversionError(
        f'{path}: unknown extension {ext!r}; expected one of {", ".join(SUPPORTED_EXTENSIONS)} '
        '(rename the file if its extension is wrong)'
    )


def unwrap_state_dict(obj) -> dict[str, torch.Tensor]:
    """A plain state dict, or one nested under ``state_dict`` / ``model`` / ``state_dict_ema``."""
    if isinstance(obj, dict):
        for key in NESTED_KEYS:
            if isinstance(obj.get(key), dict):
                return unwrap_state_dict(obj[key])
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
    raise ConversionError(
        'the file holds no state dict (a dict of tensors, possibly under "state_dict", "model" or '
        '"state_dict_ema"); is it a model checkpoint?'
    )


def load_torch(path: str, file=None) -> tuple[dict[str, torch.Tensor], dict]:
    """The state dict (timm names) and the ``meta`` dict ({} if none) of a torch checkpoint."""
    try:
        obj = load_checkpoint_safely(path, map_location='cpu', file=file, extra_globals=TRAINING_CHECKPOINT_GLOBALS)
    except CheckpointError as error:  # includes UnsafeCheckpointError
        raise ConversionError(str(error)) from None
    state = unwrap_state_dict(obj)
    meta = obj.get('meta') if isinstance(obj, dict) else None
    # mmengine checkpoints of a classifier: strip the module prefixes.
    if all(k.startswith(('backbone.', 'head.', 'neck.', 'data_preprocessor.')) for k in state):
        state = mmmixer_to_timm_names(state)
    return state, meta if isinstance(meta, dict) else {}


def _head_of(path: str) -> bytes:
    with open(path, 'rb') as f:
        return read_head(f)


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    looks_like = describe_file_start(_head_of(path))
    if looks_like != 'a .safetensors file':
        raise ConversionError(f'{path} is not a .safetensors file: it looks like {looks_like}')
    try:
        return load_file(path, device='cpu')
    except (SafetensorError, OSError, ValueError) as error:
        raise ConversionError(f'{path} is not a readable .safetensors file ({error}); it may be truncated') from None


def _npz_key_to_timm(key: str) -> tuple[str, str] | None:
    """Google name -> (timm name, how to reshape); None for unknown keys."""
    parts = key.split('/')
    leaf = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias'}.get(parts[-1])
    if leaf is None:
        return None
    if parts[0] == 'stem' and len(parts) == 2:
        return f'stem.proj.{leaf}', 'conv' if leaf == 'weight' else 'copy'
    if parts[0] == 'pre_head_layer_norm' and len(parts) == 2:
        return f'norm.{leaf}', 'copy'
    if parts[0] == 'head' and len(parts) == 2:
        return f'head.{leaf}', 'dense' if parts[-1] == 'kernel' else 'copy'
    if parts[0].startswith('MixerBlock_') and len(parts) in (3, 4):
        block = parts[0][len('MixerBlock_') :]
        if len(parts) == 3 and parts[1] in ('LayerNorm_0', 'LayerNorm_1'):
            return f'blocks.{block}.norm{int(parts[1][-1]) + 1}.{leaf}', 'copy'
        mlp = {'token_mixing': 'mlp_tokens', 'channel_mixing': 'mlp_channels'}.get(parts[1])
        if len(parts) == 4 and mlp and parts[2] in ('Dense_0', 'Dense_1'):
            fc = f'fc{int(parts[2][-1]) + 1}'
            return f'blocks.{block}.{mlp}.{fc}.{leaf}', 'dense' if parts[-1] == 'kernel' else 'copy'
    return None


def _from_jax(array: np.ndarray, layout: str) -> torch.Tensor:
    if layout == 'conv':  # HWIO -> OIHW
        array = array.transpose(3, 2, 0, 1)
    elif layout == 'dense':  # (in, out) -> torch Linear's (out, in)
        array = array.T
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def iter_npz(path: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (timm key, tensor) one array at a time: npz members load lazily, so memory stays low."""
    head = _head_of(path)
    if not is_zip(head):  # np.load would return a single array for a .npy, or refuse a pickle
        raise ConversionError(
            f'{path} is not a .npz archive of named arrays: it looks like {describe_file_start(head)}'
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ConversionError(f'{path} is not a readable .npz file ({error}); it may be truncated') from None
    with archive:
        unknown = [key for key in archive.files if _npz_key_to_timm(key) is None]
        if unknown:
            raise ConversionError(
                f'{path} is not a Google MLP-Mixer checkpoint: unexpected keys {unknown[:5]}'
                f'{" ..." if len(unknown) > 5 else ""} (expected stem/kernel, MixerBlock_<i>/..., head/kernel)'
            )
        for key in archive.files:
            try:
                array = archive[key]
            except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
                raise ConversionError(
                    f'{path}: member {key} cannot be read ({error}); the file may be truncated'
                ) from None
            timm_key, layout = _npz_key_to_timm(key)
            yield timm_key, _from_jax(array, layout)


def load_npz(path: str, progress=None) -> dict[str, torch.Tensor]:
    state = {}
    for timm_key, tensor in iter_npz(path):
        state[timm_key] = tensor
        if progress is not None:
            progress.update(tensor.numel() * tensor.element_size())
    return state


def read_timm_layout(src: str, progress: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """Any supported source file as timm-named float tensors, and its ``meta`` dict ({} if none)."""
    fmt = source_format(src)
    if not os.path.isfile(src):
        raise ConversionError(f'{src} does not exist')
    size = os.path.getsize(src)
    with progress_bar(f'loading {os.path.basename(src)}', size, progress) as bar:
        if fmt == 'npz':
            return load_npz(src, progress=bar), {}
        if fmt == 'safetensors':
            state = load_safetensors(src)
            bar.update(size)
            return state, {}
        with open(src, 'rb') as raw:
            return load_torch(src, file=ProgressFile(raw, bar))
