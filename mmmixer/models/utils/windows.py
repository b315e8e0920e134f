"""The backbone's token-major layout: images of tokens to windows (N, B, W, C) and back.

Inside the backbone activations are ``(N, B, W, C)``: N tokens per window, B images, W windows per
image, C channels. Token mixing is then one matrix product ``weight @ x.view(N, -1)`` and channel
mixing one ``x.view(-1, C) @ weight.T``: neither needs the two transposes of the usual ``(B, N, C)``
formulation. The paper's model is the single-window case (W = 1); larger inputs are tiled into
windows of the pretrained grid, the last ones zero-padded to whole windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mmmixer.models.utils.export_safe import ceil_div, exporting

OUT_TYPES = ('flat_featmap', 'featmap', 'raw', 'avg_featmap')


def to_windows(feat: torch.Tensor, window: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, C, H, W) stem output -> token-major windows (N, B, W, C), and the mask of their padding.

    The grid is zero-padded to whole windows. The mask, (N, 1, W, 1) and True at positions
    outside the grid, is None when there is no padding.
    """
    wh, ww = window
    height, width = feat.shape[-2:]
    pad_h, pad_w = ceil_div(height, wh) * wh - height, ceil_div(width, ww) * ww - width
    padded = exporting() or bool(pad_h or pad_w)
    if padded:
        feat = F.pad(feat, (0, pad_w, 0, pad_h))
    b, c, h, w = feat.shape
    rows, cols = h // wh, w // ww
    feat = feat.view(b, c, rows, wh, cols, ww)
    tokens = feat.permute(3, 5, 0, 2, 4, 1).reshape(wh * ww, b, rows * cols, c)
    pad_mask = None
    if padded:
        inside = torch.zeros(1, 1, height, width, device=feat.device)
        outside = F.pad(inside, (0, pad_w, 0, pad_h), value=1.0)[0, 0] > 0
        pad_mask = outside.view(rows, wh, cols, ww).permute(1, 3, 0, 2).reshape(wh * ww, 1, rows * cols, 1)
    return tokens.contiguous(), pad_mask  # contiguous: the token-mixing GEMM views it as (N, B * W * C)


def windows_to_grid(x: torch.Tensor, window: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
    """Token-major windows (N, B, W, C) -> (B, H, W, C) on the unpadded token grid."""
    wh, ww = window
    rows, cols = ceil_div(grid[0], wh), ceil_div(grid[1], ww)
    _, b, _, c = x.shape
    x = x.view(wh, ww, b, rows, cols, c).permute(2, 3, 0, 4, 1, 5)
    return x.reshape(b, rows * wh, cols * ww, c)[:, : grid[0], : grid[1]]


def format_output(x: torch.Tensor, window: tuple[int, int], grid: tuple[int, int], out_type: str) -> torch.Tensor:
    """Token-major windows (N, B, W, C) -> the backbone's output layout (see :data:`OUT_TYPES`)."""
    if not exporting() and grid == window:
        # One unpadded window: token-major (N, B, 1, C) is the grid in raster order already.
        tokens = x[:, :, 0]
        if out_type == 'avg_featmap':
            return tokens.mean(0)
        if out_type == 'raw':
            return tokens.transpose(0, 1).contiguous()
        flat = tokens.permute(1, 2, 0)
        return flat if out_type == 'flat_featmap' else flat.reshape(x.shape[1], -1, *grid)
    grid_features = windows_to_grid(x, window, grid)
    if out_type == 'featmap':
        return grid_features.permute(0, 3, 1, 2).contiguous()
    if out_type == 'flat_featmap':
        return grid_features.permute(0, 3, 1, 2).flatten(2)
    if out_type == 'raw':
        return grid_features.reshape(grid_features.shape[0], -1, grid_features.shape[-1])
    return grid_features.mean((1, 2))
