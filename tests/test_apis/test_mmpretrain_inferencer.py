"""mmpretrain's own ImageClassificationInferencer (which decodes with mmcv.imread, OpenCV) classifies the images a user
has with our configs too: their test pipelines bring every size to the model's; it decodes some modes otherwise
than mmmixer does (docs/deployment.md), and plain images to the same scores."""

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmmixer.apis import classify_images
from tests.helpers import REPO
from tests.test_hub import save_demo_checkpoint


@pytest.fixture(scope='module')
def user_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('mine')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 4), dtype=np.uint8), 'RGBA').save(folder / 'rgba.png')
    Image.fromarray(rng.integers(0, 65536, (64, 64), dtype=np.uint16)).save(folder / 'grey16.png')
    Image.new('CMYK', (64, 40), (10, 200, 30, 5)).save(folder / 'cmyk.jpg')
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).convert('P').save(folder / 'palette.png')
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / 'photo.webp')
    Image.fromarray(rng.integers(0, 256, (64, 64, 2), dtype=np.uint8), 'LA').save(folder / 'grey_alpha.png')
    Image.fromarray(rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)).save(folder / 'animation.gif')
    Image.new('RGB', (1, 1), (3, 4, 5)).save(folder / 'one.png')
    Image.fromarray(rng.integers(0, 256, (8, 3000, 3), dtype=np.uint8)).save(folder / 'strip.png')
    Image.fromarray(rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)).save(folder / 'plain.png')
    return sorted(str(path) for path in folder.iterdir())


def tiny_imagenet_config() -> Config:
    """configs/mixer-b16_in1k.py (the ImageNet test pipeline) with a small Mixer, so that no B/16 is built."""
    cfg = Config.fromfile(str(REPO / 'configs/mixer-b16_in1k.py'))
    cfg.model.backbone.arch = dict(embed_dims=16, num_layers=1, tokens_mlp_dims=8, channels_mlp_dims=16)
    cfg.model.head.in_channels = 16
    return cfg


@pytest.mark.parametrize('config', ['demo', 'imagenet'])
def test_mmpretrains_inferencer_classifies_every_kind_of_image_with_our_configs(tmp_path, user_images, config):
    import mmpretrain.utils.progress
    from mmpretrain import ImageClassificationInferencer

    mmpretrain.utils.progress.disable_progress_bar = True
    if config == 'demo':
        save_demo_checkpoint(tmp_path / 'demo.pth')
        model, weights, classes = str(REPO / 'configs/mixer-demo_digits.py'), str(tmp_path / 'demo.pth'), 10
    else:
        model, weights, classes = tiny_imagenet_config(), False, 1000
    results = ImageClassificationInferencer(model, pretrained=weights)(user_images, batch_size=4)
    assert len(results) == len(user_images)
    assert all(len(result['pred_scores']) == classes for result in results)
    if config == 'demo':  # the same scores as ours where both decode alike (8-bit RGB)
        plain = user_images.index(next(image for image in user_images if image.endswith('plain.png')))
        ours = classify_images([user_images[plain]], model, weights).results[0].scores
        np.testing.assert_allclose(results[plain]['pred_scores'], ours, atol=1e-6)
