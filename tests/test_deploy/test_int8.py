"""Static int8 quantisation (:mod:`mmmixer.deploy.int8`): every Linear in int8, logits close to fp32's, the
classifier a trained model would be scored as, and bad calibration input as one line."""

from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmmixer.models.builders import build_in_scope
from mmmixer.models.logits import logits_module
from tests.helpers import REPO, randomize_

pytest.importorskip('torchao')
from mmmixer.deploy.int8 import (  # noqa: E402
    Int8Error,
    prepare_graph,
    quantize_int8,
    quantized_graph,
)

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def tiny_classifier(num_classes: int = 5, img_size: int = 32, patch_size: int = 8, seed: int = 1234) -> nn.Module:
    backbone = dict(type='mmmixer.MlpMixer', arch=TINY, img_size=img_size, patch_size=patch_size)
    head = dict(type='LinearClsHead', num_classes=num_classes, in_channels=TINY['embed_dims'])
    model = build_in_scope(
        dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling', dim=1), head=head)
    )
    return randomize_(model, seed=seed).eval()


def images(count: int, seed: int, size: int = 32) -> torch.Tensor:
    return torch.randn(count, 3, size, size, generator=torch.Generator().manual_seed(seed))


def fp32_logits(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(batch, mode='tensor')


def linears_fed_int8_weights(graph_module: torch.fx.GraphModule) -> int:
    """How many ``aten.linear`` nodes take their weight from an int8 tensor dequantised per channel."""
    count = 0
    for node in graph_module.graph.nodes:
        if node.op == 'call_function' and node.target == torch.ops.aten.linear.default:
            weight = node.args[1]
            source = weight.args[0] if isinstance(weight, torch.fx.Node) and weight.args else None
            if 'dequantize_per_channel' in str(weight.target) and isinstance(source, torch.fx.Node):
                value = source.meta.get('val')
                stored = getattr(graph_module, str(source.target), None) if source.op == 'get_attr' else None
                dtype = (stored if stored is not None else value).dtype
                count += dtype == torch.int8
    return count


def test_every_linear_of_the_mixer_is_quantised_the_token_mixing_ones_too():
    model = tiny_classifier()
    graph_module, seen = quantized_graph(logits_module(model), images(2, 0), [images(8, 1)])
    # The model's own Linear layers, counted on the module tree: per block two token- and two channel-mixing, + head.
    expected = sum(isinstance(module, nn.Linear) for module in model.modules())
    assert expected == 4 * TINY['num_layers'] + 1
    assert linears_fed_int8_weights(graph_module) == expected
    assert seen == 8
    assert model.backbone.fast_paths  # switched off for the capture only


def test_graph_edits_keep_the_function():
    model = tiny_classifier()
    model.backbone.fast_paths = False
    batch = images(3, 2)
    program = torch.export.export(logits_module(model), (batch,))
    graph_module = program.module()
    changes = prepare_graph(graph_module.graph)
    graph_module.recompile()
    # Two token-mixing Linear layers per block read a transposed view; their GELU sat between two transposes.
    assert changes == {'gelu_moved': TINY['num_layers'], 'inputs_made_contiguous': TINY['num_layers']}
    torch.testing.assert_close(graph_module(batch), fp32_logits(model, batch), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope='module')
def quantised_tiny():
    model = tiny_classifier()
    state = {key: value.clone() for key, value in model.state_dict().items()}
    return model, state, quantize_int8(model, images(4, 0), images(64, 3))


def test_int8_logits_point_where_fp32_logits_do(quantised_tiny):
    model, _, predict = quantised_tiny
    batch = images(32, 4)  # not the calibration images
    ours, reference = predict(batch), fp32_logits(model, batch)
    cosine = nn.functional.cosine_similarity(ours.double(), reference.double(), dim=1)
    assert ours.dtype == torch.float32 and ours.shape == reference.shape
    assert cosine.min() > 0.98
    assert (ours.argmax(1) == reference.argmax(1)).float().mean() >= 0.9


def test_quantisation_leaves_the_model_as_it_was(quantised_tiny):
    model, state, _ = quantised_tiny
    assert model.backbone.fast_paths
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_any_batch_size_gives_each_images_own_logits(quantised_tiny):
    _, _, predict = quantised_tiny
    batch = images(9, 5)
    together = predict(batch)  # compiled for 4 (the first call's batch, see the fixture) or 9: padded and split
    one_by_one = torch.cat([predict(image[None]) for image in batch])
    torch.testing.assert_close(together, one_by_one, rtol=1e-4, atol=1e-4)


def test_int8_is_as_accurate_as_fp32_on_held_out_digits():
    """A tiny Mixer trained on scikit-learn's digits (scans upscaled to 32 px): int8, calibrated on training
    images, scores the held-out ones within half a point of fp32."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = torch.from_numpy(digits.images).float()[:, None] / 8 - 1
    inputs = nn.functional.interpolate(pixels, size=32).repeat(1, 3, 1, 1)
    labels = torch.from_numpy(digits.target)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    train, held_out = order[:1400], order[1400:]
    model = tiny_classifier(num_classes=10, seed=0)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(250):
        batch = train[torch.randint(len(train), (64,), generator=generator)]
        loss = nn.functional.cross_entropy(model(inputs[batch], mode='tensor'), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    fp32_top1 = (fp32_logits(model, inputs[held_out]).argmax(1) == labels[held_out]).float().mean().item()
    predict = quantize_int8(model, inputs[:16], inputs[train[:256]])
    int8_top1 = (predict(inputs[held_out]).argmax(1) == labels[held_out]).float().mean().item()
    assert fp32_top1 > 0.85, fp32_top1  # a model worth quantising
    assert abs(int8_top1 - fp32_top1) <= 0.005, (int8_top1, fp32_top1)


@pytest.mark.parametrize(
    'case, message',
    [
        ('empty-folder', 'has no images'),
        ('not-images', 'notes.jpg'),
        ('missing-folder', 'does not exist or is not a folder'),
        ('no-batches', 'no calibration images'),
        ('wrong-size', 'calibrate on images of that size'),
        ('not-images-tensor', 'must be (N, 3, H, W)'),
    ],
)
def test_bad_calibration_is_one_line(tmp_path, case, message):
    model = tiny_classifier()
    calibration = {
        'empty-folder': tmp_path,
        'not-images': tmp_path,
        'missing-folder': tmp_path / 'missing',
        'no-batches': [],
        'wrong-size': [images(2, 0, size=48)],
        'not-images-tensor': torch.zeros(3, 32, 32),
    }[case]
    if case == 'not-images':
        (tmp_path / 'notes.jpg').write_text('not an image')
    with pytest.raises(Int8Error) as error:
        quantize_int8(model, images(2, 0), calibration, config=Config.fromfile(str(DEMO)))
    assert message in str(error.value) and '\n' not in str(error.value)


def test_a_folder_is_calibrated_on_as_the_test_pipeline_feeds_the_model(tmp_path):
    from PIL import Image

    from mmmixer.deploy.int8 import folder_batches

    for index, grey in enumerate(range(0, 250, 10)):  # 25 images of one grey each, in two subfolders
        folder = tmp_path / str(index % 2)
        folder.mkdir(exist_ok=True)
        Image.new('RGB', (40, 24), (grey, grey, grey)).save(folder / f'{index:02d}.png')
    model = tiny_classifier()  # built without the config's data preprocessor: the config's is used
    batches = folder_batches(model, str(tmp_path), Config.fromfile(str(DEMO)))
    assert [tuple(batch.shape) for batch in batches] == [(16, 3, 32, 32), (9, 3, 32, 32)]  # resized to 32x32
    greys = sorted(float(image.mean()) for image in torch.cat(batches))
    # The demo config normalises by mean 127.5 and std 127.5.
    expected = [(grey - 127.5) / 127.5 for grey in range(0, 250, 10)]
    assert greys == pytest.approx(expected, abs=1e-6)
    # No example batch: the graph is traced at the size the folder's test pipeline gives (32 px, not 224).
    predict = quantize_int8(model, None, str(tmp_path), config=Config.fromfile(str(DEMO)))
    assert predict.calibration_images == 25


@pytest.mark.slow
def test_a_b16_in_int8_gives_fp32s_logits_direction_on_64_images():
    """Mixer-B/16, random weights with a non-zero head (as the benchmark builds it), calibrated on 32 images."""
    from mmmixer.benchmark.cpu_inference import benchmark_classifier

    model = benchmark_classifier('b16')
    predict = quantize_int8(model, images(8, 0, size=224), images(32, 1, size=224))
    batch = images(64, 2, size=224)
    ours = torch.cat([predict(part) for part in batch.split(8)])
    reference = torch.cat([fp32_logits(model, part) for part in batch.split(8)])
    cosine = nn.functional.cosine_similarity(ours.double(), reference.double(), dim=1)
    assert cosine.min() >= 0.98, cosine.min()


def test_cpu_predictor_int8_runs_this_quantisation():
    from mmmixer.apis.cpu_predictor import cpu_predictor

    model = tiny_classifier(seed=7)
    predict = cpu_predictor(model, 'int8', example_inputs=images(4, 0), calibration=list(images(32, 1).split(8)))
    batch = images(8, 2)
    ours, reference = predict(batch), fp32_logits(model, batch)
    assert 'int8' in predict.description
    assert nn.functional.cosine_similarity(ours.double(), reference.double(), dim=1).min() > 0.98
