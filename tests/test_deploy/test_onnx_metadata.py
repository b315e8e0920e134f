"""An exported graph carries what its user needs to feed it: docs/deployment.md's ONNX Runtime + PIL lines, run as
written, classify images as ``mmmixer infer`` does; and the metadata describes each shipped kind of test pipeline."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmmixer.cli.main import main
from mmmixer.deploy.preprocessing import describe_resize, preprocessing_metadata
from mmmixer.models.builders import build_in_scope
from tests.helpers import REPO, randomize_

pytest.importorskip('onnxruntime')
DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
CLASSES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
# The demo model behind an ImageNet-style eval transform read with PIL, RGB input: the other resize of the metadata.
PILLOW_CROP_CONFIG = f"""
_base_ = ['{DEMO}']
data_preprocessor = dict(to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='mmmixer.ResizeEdgeCenterCrop', scale=37, crop_size=32, interpolation='bicubic'),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
"""


def docs_snippet() -> str:
    text = (REPO / 'docs' / 'deployment.md').read_text()
    return re.search(r'<!-- the snippet the test runs -->\n```python\n(.*?)```', text, re.S).group(1)


def run_snippet(onnx_file, image_file) -> tuple[str, float]:
    """The docs' lines as written, on these files (their first assignment names the files)."""
    code = docs_snippet().replace("onnx_file, image_file = 'digits.onnx', 'photo.png'", '')
    scope = {'onnx_file': str(onnx_file), 'image_file': str(image_file), 'print': lambda *args: None}
    exec(compile(code, 'docs/deployment.md', 'exec'), scope)
    return scope['label'], scope['score']


def front_door(*args) -> int:
    try:
        return main([str(arg) for arg in args])
    except SystemExit as exit_:
        return exit_.code


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    model = randomize_(build_in_scope(Config.fromfile(str(DEMO)).model), std=0.2)
    path = tmp_path_factory.mktemp('weights') / 'demo.pth'
    torch.save({'meta': {'dataset_meta': {'classes': CLASSES}}, 'state_dict': model.state_dict()}, path)
    return path


def images(folder, sizes) -> list:
    """Seeded colour images (smooth, so that a resize changes little) of the given (width, height)s."""
    rng = np.random.default_rng(0)
    paths = []
    for index, (width, height) in enumerate(sizes):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        path = folder / f'{index}_{width}x{height}.png'
        Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR).save(path)
        paths.append(path)
    return paths


@pytest.mark.slow
@pytest.mark.parametrize(
    ('config', 'sizes'),
    [
        ('demo', [(32, 32)] * 3),  # OpenCV resizes other sizes (the docs say so): the model's own size only
        ('pillow crop', [(32, 32), (50, 40), (37, 90), (123, 45)]),
    ],
)
def test_the_docs_onnx_lines_give_mmmixer_infers_top1(tmp_path, checkpoint, config, sizes):
    if config == 'demo':
        config_file = DEMO
    else:
        config_file = tmp_path / 'pillow_crop.py'
        config_file.write_text(PILLOW_CROP_CONFIG)
    graph = tmp_path / 'model.onnx'
    assert front_door('export', config_file, checkpoint, graph, '--dynamic-batch') == 0
    files = images(tmp_path, sizes)
    predictions = tmp_path / 'predictions.json'
    assert front_door('infer', *files, '--model', config_file, '--pretrained', checkpoint, '--out', predictions) == 0
    inferred = {record['image']: record['predictions'][0] for record in json.loads(predictions.read_text())['results']}
    for file in files:
        label, score = run_snippet(graph, file)
        assert label == inferred[str(file)]['class'], file
        assert abs(score - inferred[str(file)]['score']) < 1e-4, file


def test_the_metadata_describes_both_shipped_resizes_and_the_channel_order():
    demo = preprocessing_metadata(Config.fromfile(str(DEMO)), {'dataset_meta': {'classes': CLASSES}}, 10)
    assert demo['resize'] == {'size': [32, 32], 'interpolation': 'bilinear', 'backend': 'cv2'}
    assert (demo['channel_order'], demo['mean'], demo['std']) == ('BGR', [127.5] * 3, [127.5] * 3)
    assert demo['classes'] == CLASSES
    imagenet = preprocessing_metadata(Config.fromfile(str(REPO / 'configs' / 'mixer-b16_in1k.py')), None, 1000)
    assert imagenet['resize'] == {
        'short_side': 256,
        'crop': [224, 224],
        'interpolation': 'bicubic',
        'backend': 'pillow',
    }
    assert imagenet['channel_order'] == 'RGB' and imagenet['classes'][0] == 'tench, Tinca tinca'
    # mmpretrain's own two steps; crop_size is (w, h) there, the metadata's crop (h, w).
    two_steps = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bicubic'),
        dict(type='CenterCrop', crop_size=(224, 200)),
        dict(type='PackInputs'),
    ]
    assert describe_resize(two_steps) == {
        'short_side': 256,
        'crop': [200, 224],
        'interpolation': 'bicubic',
        'backend': 'pillow',
    }
    assert describe_resize([dict(type='RandomResizedCrop', scale=32)]) is None  # not described: see test_pipeline
