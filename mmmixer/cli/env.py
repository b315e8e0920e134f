"""``mmmixer env`` (also ``mmmixer --version``): the versions of mmmixer and its OpenMMLab stack, and what
``import mmmixer`` changed in them, for a bug report."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform

from mmmixer.config.find import configs_dir
from mmmixer.environment import has_compiled_ops
from mmmixer.patches import describe_patches
from mmmixer.version import __version__

VERSIONED = ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmpretrain', 'mmdet', 'mmsegmentation')


def describe_environment() -> list[str]:
    """``mmmixer --version`` / ``mmmixer env``: mmmixer's version, its dependencies' (from their metadata: nothing
    is imported), whether mmcv has its compiled ops, where mmmixer's configs are, and the patches ``import mmmixer``
    made (:func:`mmmixer.patches.describe_patches`)."""
    lines = [f'mmmixer {__version__} (python {platform.python_version()})']
    for name in VERSIONED:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = 'not installed'
        lines.append(f'  {name} {version}' + (' (compiled ops)' if name == 'mmcv' and has_compiled_ops() else ''))
    lines.append(f"mmmixer's configs (_base_ = ['mmmixer::NAME']): {configs_dir()}")
    lines.append('patches applied by import mmmixer:')
    lines += [f'  {line}' for line in describe_patches()]
    return lines


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]).parse_args(argv)
    print('\n'.join(describe_environment()))
