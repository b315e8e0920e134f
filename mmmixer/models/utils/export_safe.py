"""Shape arithmetic that also holds while the forward is captured for export (torch.export / ONNX)."""

from __future__ import annotations

import torch


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for a >= 0, b > 0, written without negative operands: an exported ONNX graph divides
    integers by truncation, so the usual ``-(-a // b)`` would round the wrong way there."""
    return (a + b - 1) // b


def exporting() -> bool:
    """Whether the forward is being captured for export: shape-dependent shortcuts would then be frozen at the
    example's size, so the general path is taken."""
    return torch.compiler.is_exporting()
