"""Read Mixer weights from timm files (.pth/.pt/.bin/.safetensors) and Google's .npz, as timm-named tensors.

Everything is brought to timm's names first (``stem.proj.weight``, ``blocks.0.mlp_tokens.fc1.weight``,
``norm.weight``, ``head.weight`` ...), which are also our backbone's names; one mapping then serves
every direction.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator

import numpy as np
import torch

from mmmixer.checkpoint import load_checkpoint_safely

TORCH_EXTENSIONS = ('.pth', '.pt', '.bin')
SUPPORTED_EXTENSIONS = (*TORCH_EXTENSIONS, '.safetensors', '.npz')
NESTED_KEYS = ('state_dict', 'model', 'state_dict_ema')


class ConversionError(ValueError):
    """Bad input for a conversion; the message names the problem and the fix."""


def source_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
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


def load_torch(path: str, file=None) -> dict[str, torch.Tensor]:
    try:
        obj = load_checkpoint_safely(path, map_location='cpu', file=file)
    except RuntimeError as error:  # includes UnsafeCheckpointError
        raise ConversionError(str(error)) from None
    state = unwrap_state_dict(obj)
    # mmengine checkpoints of a classifier: strip the module prefixes.
    if all(k.startswith(('backbone.', 'head.', 'neck.', 'data_preprocessor.')) for k in state):
        from mmmixer.converters.mixer import mmmixer_to_timm_names

        state = mmmixer_to_timm_names(state)
    return state


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

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
