"""scikit-learn's handwritten digits as an ImageNet-style folder tree, for the demo and tests.

The 1,797 real 8x8 scans (UCI "Optical Recognition of Handwritten Digits") ship inside
scikit-learn, so the demo needs no download. Each image is stretched from 0-16 to 0-255 and
upscaled with bicubic interpolation, then written as ``{train,val}/<digit>/<index>.png``:
the layout mmpretrain's ``CustomDataset`` reads with ``data_prefix='train'``.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import tempfile

import numpy as np
from PIL import Image

MARKER = 'digits_split.json'


def prepare_digits(out_dir: str, image_size: int = 32, val_fraction: float = 0.2, seed: int = 0) -> dict:
    """Write the split to ``out_dir`` (reused if an identical split is already there).

    The split is stratified and fixed by ``seed``. Returns the split's description, which is also
    stored in ``out_dir/digits_split.json``. An existing ``out_dir`` that this function did not
    write is left untouched and reported.
    """
    from sklearn.datasets import load_digits

    settings = dict(image_size=image_size, val_fraction=val_fraction, seed=seed)
    marker = osp.join(out_dir, MARKER)
    if osp.isfile(marker):
        with open(marker) as f:
            existing = json.load(f)
        if {k: existing.get(k) for k in settings} == settings:
            return existing
        raise FileExistsError(f'{out_dir} holds a digits split made with other settings; remove it or pick another dir')
    if osp.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a digits split written by this tool; choose an empty dir')

    digits = load_digits()
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(digits.target), dtype=bool)
    for label in np.unique(digits.target):
        members = rng.permutation(np.flatnonzero(digits.target == label))
        is_val[members[: round(len(members) * val_fraction)]] = True

    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    # Build in a sibling temporary folder and rename it into place: never a half-written split.
    staging = tempfile.mkdtemp(prefix='.digits-', dir=parent)
    try:
        for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
            split = 'val' if is_val[index] else 'train'
            folder = osp.join(staging, split, str(label))
            os.makedirs(folder, exist_ok=True)
            grey = Image.fromarray(np.round(pixels * (255 / 16)).astype(np.uint8), mode='L')
            grey.resize((image_size, image_size), Image.BICUBIC).save(osp.join(folder, f'{index:04d}.png'))
        info = dict(settings, num_train=int((~is_val).sum()), num_val=int(is_val.sum()), classes=list(range(10)))
        with open(osp.join(staging, MARKER), 'w') as f:
            json.dump(info, f, indent=2)
        if osp.isdir(out_dir):
            os.rmdir(out_dir)  # empty, checked above
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info
