"""The ImageNet test pipeline of our configs equals timm's eval transform for the Mixer weights."""

from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from PIL import Image
from timm.data import create_transform, resolve_data_config

import mmmixer  # noqa: F401
from tests.helpers import REPO


def sample_photos() -> list[Path]:
    """Real JPEG photos that ship with scikit-learn (china.jpg, flower.jpg)."""
    import sklearn.datasets

    return sorted((Path(sklearn.datasets.__file__).parent / 'images').glob('*.jpg'))


def ours(config: str, path: Path) -> torch.Tensor:
    cfg = Config.fromfile(REPO / config)
    init_default_scope('mmpretrain')
    from mmpretrain.models import ClsDataPreprocessor

    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    packed = pipeline(dict(img_path=str(path)))
    preprocessor = ClsDataPreprocessor(**{k: v for k, v in cfg.data_preprocessor.items() if k != 'type'})
    return preprocessor(dict(inputs=[packed['inputs']]), training=False)['inputs'][0]


@pytest.mark.parametrize('config', ['configs/mixer-b16_in1k.py', 'configs/mixer-l16_in1k.py'])
@pytest.mark.parametrize('photo', sample_photos(), ids=lambda p: p.name)
def test_matches_timm_eval_transform(config, photo):
    model_name = 'mixer_b16_224' if 'b16' in config else 'mixer_l16_224'
    # The weights' own eval settings (timm's pretrained_cfg), without building a B/16 or L/16 model.
    data_config = resolve_data_config({}, pretrained_cfg=timm.models.get_pretrained_cfg(model_name).to_dict())
    assert data_config['interpolation'] == 'bicubic' and data_config['crop_pct'] == 0.875
    expected = create_transform(**data_config)(Image.open(photo).convert('RGB'))
    actual = ours(config, photo)
    assert actual.shape == expected.shape == (3, 224, 224)
    # Identical pixels; the rest is float rounding of (x - 127.5) / 127.5 vs (x / 255 - 0.5) / 0.5.
    assert (actual - expected).abs().max().item() < 1e-5


def test_sample_photos_exist():
    assert len(sample_photos()) == 2 and all(np.asarray(Image.open(p)).ndim == 3 for p in sample_photos())
