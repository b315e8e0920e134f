"""Adapt pretrained token-mixing weights to another token grid.

The token-mixing MLP of a Mixer is tied to its grid: fc1 takes N = H*W tokens, fc2 gives N back. To
run a pretrained model at another resolution with ``token_mixing='global'`` its weights must be
resized. Two ways:

* ``'block_diagonal'`` (paper, appendix C: fine-tuning at higher resolution): for a grid K_h x K_w
  times larger, fc1/fc2 become block-diagonal with one copy of the pretrained matrices per window
  of the old grid's size, so the hidden width grows K_h*K_w times. At initialisation the model
  computes exactly what ``token_mixing='window'`` computes with the original weights.
* ``'bilinear'``: 2-D resampling of fc1's input weights and of fc2's output weights and bias over
  the token grid, keeping the hidden width; any new grid. fc1 is scaled by N_old / N_new so that
  its pre-activations keep their size on smooth inputs.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

MODES = ('block_diagonal', 'bilinear')
_TOKEN_FC1 = re.compile(r'^(?P<prefix>.*)blocks\.(?P<index>\d+)\.mlp_tokens\.fc1\.weight$')


def token_mixing_grid(num_tokens: int) -> tuple[int, int]:
    side = math.isqrt(num_tokens)
    if side * side != num_tokens:
        raise ValueError(f'cannot infer the token grid of {num_tokens} tokens: pass old_grid explicitly')
    return side, side


def _block_diagonal(fc1_w, fc1_b, fc2_w, fc2_b, old, new):
    kh, kw = new[0] // old[0], new[1] // old[1]
    hidden = fc1_w.shape[0]
    # Window (r, c) of the new grid holds old-grid position (i, j) at new token (r*gh + i)*W + c*gw + j.
    rows = torch.arange(kh).view(kh, 1, 1, 1) * old[0] + torch.arange(old[0]).view(1, 1, old[0], 1)
    cols = torch.arange(kw).view(1, kw, 1, 1) * old[1] + torch.arange(old[1]).view(1, 1, 1, old[1])
    new_token = (rows * new[1] + cols).reshape(kh * kw, -1)  # (windows, old tokens)
    num_windows, new_tokens = kh * kw, new[0] * new[1]
    w1 = fc1_w.new_zeros(num_windows * hidden, new_tokens)
    w2 = fc2_w.new_zeros(new_tokens, num_windows * hidden)
    b2 = fc2_b.new_empty(new_tokens)
    for window in range(num_windows):
        units = slice(window * hidden, (window + 1) * hidden)
        w1[units, new_token[window]] = fc1_w
        w2[new_token[window], units] = fc2_w
        b2[new_token[window]] = fc2_b
    return w1, fc1_b.repeat(num_windows), w2, b2


def _bilinear(fc1_w, fc1_b, fc2_w, fc2_b, old, new):
    def resample(t):  # (..., old_h * old_w) -> (..., new_h * new_w)
        lead = t.shape[:-1]
        grid = t.reshape(-1, 1, *old).float()
        out = F.interpolate(grid, size=new, mode='bilinear', align_corners=False)
        return out.reshape(*lead, new[0] * new[1]).to(t.dtype)

    scale = (old[0] * old[1]) / (new[0] * new[1])
    return resample(fc1_w) * scale, fc1_b.clone(), resample(fc2_w.t()).t().contiguous(), resample(fc2_b)


def resize_token_mixing(
    state_dict: dict[str, torch.Tensor],
    old_grid: tuple[int, int] | None,
    new_grid: tuple[int, int],
    mode: str = 'block_diagonal',
) -> dict[str, torch.Tensor]:
    """Return a copy of ``state_dict`` whose token-mixing MLPs fit ``new_grid``.

    Keys may carry any prefix (``backbone.`` ...); other entries are passed through unchanged.
    ``old_grid=None`` infers a square grid from the weights.
    """
    if mode not in MODES:
        raise ValueError(f'mode={mode!r} is not supported; choose one of {MODES}')
    new_grid = tuple(new_grid)
    out = dict(state_dict)
    found = False
    for key in state_dict:
        match = _TOKEN_FC1.match(key)
        if not match:
            continue
        found = True
        base = key[: -len('fc1.weight')]
        fc1_w, fc1_b = state_dict[base + 'fc1.weight'], state_dict[base + 'fc1.bias']
        fc2_w, fc2_b = state_dict[base + 'fc2.weight'], state_dict[base + 'fc2.bias']
        old = tuple(old_grid) if old_grid else token_mixing_grid(fc1_w.shape[1])
        if old[0] * old[1] != fc1_w.shape[1]:
            raise ValueError(f'{key} mixes {fc1_w.shape[1]} tokens, not an old grid of {old[0]}x{old[1]}')
        if mode == 'block_diagonal' and (new_grid[0] % old[0] or new_grid[1] % old[1]):
            raise ValueError(
                f"mode='block_diagonal' needs the new grid to be a whole multiple of the old one; "
                f"{new_grid[0]}x{new_grid[1]} is not a multiple of {old[0]}x{old[1]} (use mode='bilinear')"
            )
        resize = _block_diagonal if mode == 'block_diagonal' else _bilinear
        resized = resize(fc1_w, fc1_b, fc2_w, fc2_b, old, new_grid)
        for name, tensor in zip(('fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'), resized, strict=True):
            out[base + name] = tensor
    if not found:
        raise ValueError('no token-mixing weights (blocks.<i>.mlp_tokens.fc1.weight) in the state dict')
    return out
