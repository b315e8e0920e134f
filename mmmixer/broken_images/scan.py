"""Decode every image of a data set with the config's loader settings: what ``mmmixer check-data`` runs."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from mmmixer.broken_images.loader import why_unreadable

LOADER_TYPES = (
    'LoadImageFromFile',
    'mmcv.LoadImageFromFile',
    'mmpretrain.LoadImageFromFile',
    'mmdet.LoadImageFromFile',
)
LOADER_ARGS = ('color_type', 'imdecode_backend', 'backend_args')


def loader_args(pipeline: list | None) -> dict:
    """The decoding arguments of a pipeline's image loader (``LoadImageFromFile`` or ours); defaults without one."""
    for transform in pipeline or []:
        kind = transform.get('type') if isinstance(transform, dict) else None
        if kind in LOADER_TYPES or kind == 'mmmixer.LoadImageChecked':
            return {key: transform[key] for key in LOADER_ARGS if key in transform}
    return {}


def _check_one(path: str, args: dict) -> tuple[str, str | None]:
    return path, why_unreadable(path, **args)


def find_broken_images(
    paths: Iterable[str],
    args: dict,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` for each of ``paths`` that does not decode, in order; ``progress(checked, broken)``
    is called after every image. ``workers`` > 1 decodes in that many processes."""
    check = partial(_check_one, args=args)
    checked = broken = 0

    def walk(results: Iterable[tuple[str, str | None]]) -> Iterator[tuple[str, str]]:
        nonlocal checked, broken
        for path, problem in results:
            checked += 1
            if problem is not None:
                broken += 1
                yield path, problem
            if progress:
                progress(checked, broken)

    if workers <= 1:
        yield from walk(map(check, paths))
        return
    with multiprocessing.get_context('spawn').Pool(workers) as pool:
        yield from walk(pool.imap(check, paths, chunksize=64))
