"""Small shared helpers for the tests."""

import torch


def randomize_(module: torch.nn.Module, std: float = 0.05, seed: int = 1234) -> torch.nn.Module:
    """Give every parameter non-trivial random values, so that parity tests compare real functions
    (timm zero-initialises heads and nearly zero-initialises biases). Norm scales stay near 1."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * std
            is_norm_scale = param.ndim == 1 and name.endswith('weight') and 'norm' in name
            param.copy_(noise + 1.0 if is_norm_scale else noise)
    return module
