"""An mmengine classifier as a plain module, images -> logits: what predictors, quantisers and benchmarks call."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierLogits(nn.Module):
    """``classifier(images, mode='tensor')`` as ``module(images)``; the classifier's data preprocessor is not run
    (the images come normalised, as the preprocessor hands them over)."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images, mode='tensor')


def logits_module(model: nn.Module) -> nn.Module:
    """An mmengine model (one with a data preprocessor) as images -> logits, any other module as it is; in eval mode
    (the model with it)."""
    return (ClassifierLogits(model) if hasattr(model, 'data_preprocessor') else model).eval()
