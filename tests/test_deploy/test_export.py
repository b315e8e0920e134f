"""``mmmixer export``: ONNX graphs that ONNX Runtime runs to PyTorch's outputs, at sizes they were not exported at."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmmixer.deploy import ExportError, VerificationError, default_size, export_onnx
from mmmixer.models.builders import build_in_scope
from tests.helpers import REPO, randomize_, run

ort = pytest.importorskip('onnxruntime')
DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def classifier(token_mixing: str, img_size=64, patch_size=16, out_type='flat_featmap') -> torch.nn.Module:
    """A tiny Mixer classifier; with ``out_type='featmap'`` it has no neck (its backbone's maps are the output)."""
    backbone = dict(
        type='mmmixer.MlpMixer',
        arch=TINY,
        img_size=img_size,
        patch_size=patch_size,
        token_mixing=token_mixing,
        out_type=out_type,
    )
    neck = dict(type='GlobalAveragePooling', dim=1) if out_type == 'flat_featmap' else None
    head = dict(type='LinearClsHead', num_classes=5, in_channels=32)
    model = build_in_scope(dict(type='ImageClassifier', backbone=backbone, neck=neck, head=head))
    return randomize_(model).eval()


def onnx_outputs(path, images: torch.Tensor) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: images.numpy()})


@pytest.mark.slow
def test_window_mixing_exports_with_any_height_and_width(tmp_path):
    model = classifier('window', out_type='featmap')
    out = tmp_path / 'window.onnx'
    checks = export_onnx(model, out, what='backbone', size=(64, 96), dynamic_batch=True, dynamic_size=True, verify=True)
    assert [check.shape for check in checks] == [(1, 3, 64, 96), (2, 3, 64 + 53, 96 + 83)]
    # Sizes the graph was not traced at, odd ones (partial patches, partial windows) among them.
    for shape in [(1, 3, 320, 480), (2, 3, 800, 1216), (3, 3, 50, 70)]:
        images = torch.randn(shape)
        with torch.no_grad():
            expected = model.backbone(images)[0].numpy()
        (got,) = onnx_outputs(out, images)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4


@pytest.mark.slow
def test_classifier_exports_logits_and_the_scores_its_head_predicts(tmp_path):
    model = classifier('global')
    model.head.loss_module.use_sigmoid = True  # as the ImageNet recipe trains: mmpretrain still predicts softmax
    out = tmp_path / 'global.onnx'
    export_onnx(model, out, size=(64, 64), dynamic_batch=True)
    images = torch.randn(4, 3, 64, 64)
    logits, scores = onnx_outputs(out, images)
    with torch.no_grad():
        expected = model(images, mode='tensor').numpy()
        predicted = torch.stack([sample.pred_score for sample in model(images, mode='predict')]).numpy()
    assert np.abs(logits - expected).max() < 1e-4
    assert np.abs(scores - predicted).max() < 1e-5


def test_global_mixing_refuses_other_sizes_before_any_work(tmp_path):
    model = classifier('global')
    with pytest.raises(ExportError, match=r"token_mixing='window'"):
        export_onnx(model, tmp_path / 'x.onnx', size=(64, 64), dynamic_size=True)
    with pytest.raises(ExportError, match=r'takes 64x64 only; use --shape 64 64'):
        export_onnx(model, tmp_path / 'x.onnx', size=(96, 96))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_graph_that_disagrees_leaves_no_file(tmp_path):
    out = tmp_path / 'model.onnx'
    with pytest.raises(VerificationError, match='nothing was written'):
        export_onnx(classifier('global'), out, size=(64, 64), tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the command line
@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    model = build_in_scope(Config.fromfile(str(DEMO)).model)
    randomize_(model)
    path = tmp_path_factory.mktemp('ckpt') / 'demo.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path, model.eval()


@pytest.mark.slow
def test_export_command_writes_a_graph_that_classifies_real_digits_as_pytorch_does(tmp_path, demo_checkpoint):
    from sklearn.datasets import load_digits

    checkpoint, model = demo_checkpoint
    out = tmp_path / 'demo.onnx'
    _, output = run('tools/deployment/pytorch2onnx.py', DEMO, checkpoint, out, '--dynamic-batch')
    assert 'verified with ONNX Runtime at 2x3x32x32' in output
    # scikit-learn's real scans, as the demo feeds them: 8x8 upscaled to 32x32, normalised by 127.5.
    digits = torch.from_numpy(load_digits().images[:16]).float() * (255 / 16)
    images = torch.nn.functional.interpolate(digits[:, None], size=32).repeat(1, 3, 1, 1) / 127.5 - 1
    logits, scores = onnx_outputs(out, images)
    with torch.no_grad():
        expected = model(images, mode='tensor')
    assert np.abs(logits - expected.numpy()).max() < 1e-4
    assert (scores.argmax(1) == expected.argmax(1).numpy()).all()


def bad_export(*args):
    import sys

    code, output = run(sys.executable, '-m', 'mmmixer', 'export', *args, check=False)
    return code, output


@pytest.mark.slow
@pytest.mark.parametrize(
    'case, message',
    [
        ('global-dynamic-size', "token_mixing='window' for inputs of any size"),
        ('global-other-shape', 'takes 32x32 only; use --shape 32 32'),
        ('not-a-mixer', 'holds no Mixer weights'),
        ('no-model', 'the config has no model'),
        ('unwritable', 'does not exist; create it first'),
    ],
)
def test_export_bad_input_is_one_line_and_exit_2(tmp_path, demo_checkpoint, case, message):
    checkpoint, _ = demo_checkpoint
    out = tmp_path / 'out.onnx'
    args = [DEMO, checkpoint, out]
    if case == 'global-dynamic-size':
        args.append('--dynamic-size')
    elif case == 'global-other-shape':
        args += ['--shape', '48', '48']
    elif case == 'not-a-mixer':
        resnet = tmp_path / 'resnet.pth'
        torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(64, 3, 7, 7)}}, resnet)
        args = [DEMO, resnet, out]
    elif case == 'no-model':
        config = tmp_path / 'no_model.py'
        config.write_text('x = 1\n')
        args = [config, checkpoint, out]
    elif case == 'unwritable':
        out = tmp_path / 'missing' / 'out.onnx'
        args = [DEMO, checkpoint, out]
    code, output = bad_export(*map(str, args))
    assert code == 2, output
    assert 'Traceback' not in output
    errors = [line for line in output.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and message in errors[0], output
    assert not any(path.suffix == '.onnx' or '.tmp-' in path.name for path in tmp_path.rglob('*'))


@pytest.mark.slow
def test_benchmark_times_onnx_runtime_next_to_pytorch(tmp_path):
    import json

    out = tmp_path / 'bench.json'
    _, output = run(
        'tools/analysis_tools/benchmark.py', '--smoke', '--modes', 'inference', 'train',
        '--implementations', 'mmmixer', 'onnxruntime', '--no-config-step', '--json', out,
    )  # fmt: skip
    rows = {(r['implementation'], r['mode']): r for r in json.loads(out.read_text())['results']}
    # ONNX Runtime runs inference only; its row is timed in the same rotation as PyTorch's.
    assert set(rows) == {('mmmixer', 'inference'), ('onnxruntime', 'inference'), ('mmmixer', 'train')}
    assert rows['onnxruntime', 'inference']['images_per_second'] > 0
    assert '| onnxruntime | inference |' in output


@pytest.mark.slow
def test_a_detectors_backbone_and_neck_export_to_their_feature_maps_at_any_size(tmp_path):
    """The detection demo's RetinaNet (window mixing, pyramid neck): the graph gives the neck's maps at new sizes."""
    from mmengine.registry import init_default_scope

    from mmmixer.environment import MissingCompiledOpsError, check_compiled_ops

    cfg = Config.fromfile(str(REPO / 'configs' / 'detection' / 'retinanet_mixer-demo_pyramid_digits.py'))
    try:
        check_compiled_ops(cfg)
    except MissingCompiledOpsError:
        pytest.skip("mmdet's detectors need mmcv's compiled ops (make setup-full)")
    cfg.model.backbone.init_cfg = None  # random weights: no classification checkpoint needed
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    detector = randomize_(MODELS.build(cfg.model)).eval()
    out = tmp_path / 'retinanet_backbone.onnx'
    export_onnx(detector, out, what='backbone', size=(128, 128), dynamic_batch=True, dynamic_size=True)
    images = torch.randn(2, 3, 96, 160)
    with torch.no_grad():
        expected = detector.neck(detector.backbone(images))
    got = onnx_outputs(out, images)
    assert len(got) == len(expected) == 3  # the slim demo neck: strides 8, 16, 32
    for ours, theirs in zip(got, expected, strict=True):
        assert ours.shape == tuple(theirs.shape)
        assert np.abs(ours - theirs.numpy()).max() < 1e-4


# ----------------------------------------------------------------------------- the size a dynamic graph is traced at
def window_demo() -> torch.nn.Module:
    cfg = Config.fromfile(str(DEMO))
    cfg.model.backbone.token_mixing = 'window'
    return randomize_(build_in_scope(cfg.model)).eval()


def test_a_graph_of_any_size_is_not_traced_at_one_window(tmp_path):
    """One window would make torch.export specialise the graph to one window (docs/deployment.md)."""
    model = window_demo()
    assert default_size(model.backbone, dynamic_size=False) == (32, 32)  # the model's own, for a fixed graph
    assert default_size(model.backbone, dynamic_size=True) == (64, 64)  # two 32x32 windows per side
    for shape in [(32, 32), (20, 31)]:
        with pytest.raises(ExportError, match=r'one token-mixing window \(32x32 px\).*--shape 64 64, or leave'):
            export_onnx(model, tmp_path / 'x.onnx', size=shape, dynamic_size=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_window_graph_traced_at_the_default_size_runs_at_any_size(tmp_path):
    model = window_demo()
    out = tmp_path / 'window.onnx'
    checks = export_onnx(model, out, size=default_size(model.backbone, True), dynamic_size=True)
    assert [check.shape for check in checks] == [(1, 3, 64, 64), (1, 3, 81, 87)]
    # One window (32x32 and less), one window on one side only, several: the logits PyTorch gives.
    for shape in [(1, 3, 32, 32), (1, 3, 2, 2), (1, 3, 8, 300), (1, 3, 96, 32), (1, 3, 200, 300)]:
        images = torch.randn(shape)
        with torch.no_grad():
            expected = model(images, mode='tensor').numpy()
        logits, _ = onnx_outputs(out, images)
        assert np.abs(logits - expected).max() < 1e-4, shape


@pytest.mark.slow
def test_an_fcos_like_backbone_and_neck_export_at_the_default_size_and_run_at_others(tmp_path):
    """A 5-level neck (strides 8 to 128, as FCOS's) on the demo backbone; its coarsest levels are 1x1 at the traced
    64x64 and at 32x32."""
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(str(REPO / 'configs' / 'detection' / 'retinanet_mixer-demo_pyramid_digits.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.num_extra_levels = 4
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    detector = randomize_(MODELS.build(cfg.model)).eval()
    size = default_size(detector.backbone, dynamic_size=True)
    assert size == (64, 64)
    out = tmp_path / 'fcos_backbone.onnx'
    export_onnx(detector, out, what='backbone', size=size, dynamic_size=True)
    for shape in [(1, 3, 100, 150), (1, 3, 32, 32), (1, 3, 300, 200)]:
        images = torch.randn(shape)
        with torch.no_grad():
            expected = detector.neck(detector.backbone(images))
        got = onnx_outputs(out, images)
        assert len(got) == len(expected) == 5
        for ours, theirs in zip(got, expected, strict=True):
            assert ours.shape == tuple(theirs.shape) and np.abs(ours - theirs.numpy()).max() < 1e-4
