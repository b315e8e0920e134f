"""The names of a classifier's classes, as every command prints them: the checkpoint's own (its ``dataset_meta``),
else ImageNet-1k's for a 1000-class model, else the labels as text."""

from __future__ import annotations


def default_class_names(count: int) -> list[str]:
    """ImageNet-1k's names for a 1000-class model whose checkpoint names none; else the labels as text."""
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES

    return list(IMAGENET_CATEGORIES) if count == len(IMAGENET_CATEGORIES) else [str(i) for i in range(count)]


def class_names(checkpoint_meta: dict | None, num_classes: int | None) -> list[str] | None:
    """The checkpoint's class names when it has as many as the model; else :func:`default_class_names` (None when
    the number of classes is not known)."""
    classes = ((checkpoint_meta or {}).get('dataset_meta') or {}).get('classes')
    if classes and (num_classes is None or len(classes) == num_classes):
        return [str(name) for name in classes]
    return None if num_classes is None else default_class_names(num_classes)
