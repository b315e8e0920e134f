"""Mixer in mmdet: the detection configs end to end, and the detection demo."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.cli.demo_det import main as demo_det_main
from mmmixer.models import MixerPyramidNeck, MlpMixer
from tests.helpers import randomize_, run, run_main, save_classification_checkpoint

REPO = Path(__file__).resolve().parents[2]
DETECTION_CONFIGS = sorted((REPO / 'configs/detection').glob('*_coco.py'))
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def mixer(**kwargs) -> MlpMixer:
    model = MlpMixer(**{'arch': TINY, 'img_size': 64, 'patch_size': 16, **kwargs})
    model.init_weights()
    return randomize_(model).eval()


# ----------------------------------------------------------------------------- configs end to end
@pytest.mark.parametrize('config', DETECTION_CONFIGS, ids=lambda p: p.name)
def test_detection_configs_build_under_mmdet(config):
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(config)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.backbone.arch == 'b' and cfg.model.neck.in_channels == 768
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.arch, cfg.model.neck.in_channels = TINY, TINY['embed_dims']  # the wiring, not B/16's size
    detector = build_model_from_config(cfg)
    assert isinstance(detector.backbone, MlpMixer) and detector.backbone.token_mixing == 'window'
    assert isinstance(detector.neck, MixerPyramidNeck)


def make_coco(root: Path, num_images: int = 2) -> Path:
    """A tiny COCO-format dataset with boxes and polygon masks."""
    rng = np.random.default_rng(0)
    (root / 'images').mkdir(parents=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        height, width = 240, 320
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(root / f'images/{image_id}.jpg')
        images.append(dict(id=image_id, file_name=f'{image_id}.jpg', height=height, width=width))
        for k in range(2):
            x, y, w, h = 30 + 120 * k, 40 + 20 * k, 80, 90
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1 + k,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                )
            )
    categories = [dict(id=1, name='person'), dict(id=2, name='bicycle')]
    (root / 'annotations.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories))
    )
    return root


def tiny_detection_config(config: Path, folder: Path) -> Path:
    """The real config with a small Mixer (same windowed 14x14-token design), for CPU-sized tests."""
    path = folder / f'tiny_{config.name}'
    path.write_text(
        f"_base_ = ['{config}']\n"
        f'model = dict(backbone=dict(init_cfg=None, arch=dict(_delete_=True, **{TINY!r})), neck=dict(in_channels=32))\n'
    )
    return path


def detection_overrides(coco: Path) -> list[str]:
    overrides = [
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10',
        'param_scheduler=[]',
        'default_hooks.logger.interval=1',
        'env_cfg.dist_cfg.backend=gloo',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        overrides += [
            f'{loader}.dataset.data_root={coco}/',
            f'{loader}.dataset.ann_file=annotations.json',
            f'{loader}.dataset.data_prefix.img=images/',
            f'{loader}.dataset.metainfo.classes=[person,bicycle]',
            f'{loader}.batch_size=1',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    for evaluator in ('val_evaluator', 'test_evaluator'):
        overrides.append(f'{evaluator}.ann_file={coco}/annotations.json')
    return overrides


@pytest.mark.slow
@pytest.mark.parametrize('config', DETECTION_CONFIGS, ids=lambda p: p.name)
def test_detection_train_iteration_and_coco_evaluation(tmp_path, config):
    coco = make_coco(tmp_path / 'coco')
    work_dir = tmp_path / 'work'
    overrides = detection_overrides(coco)
    # Two classes; and an untrained detector scores below the default 0.05: keep every box so that
    # COCO metrics are computed.
    if 'mask-rcnn' in config.name:
        overrides += [
            'model.roi_head.bbox_head.num_classes=2',
            'model.roi_head.mask_head.num_classes=2',
            'model.test_cfg.rcnn.score_thr=0.0',
        ]
    else:
        overrides += ['model.bbox_head.num_classes=2', 'model.test_cfg.score_thr=0.0']
    config = tiny_detection_config(config, tmp_path)
    _, output = run('tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *overrides)
    losses = [float(value) for value in re.findall(r'\bloss: (\S+)', output)]
    assert losses and all(np.isfinite(losses)), output[-3000:]
    metrics_file = tmp_path / 'metrics.json'
    _, output = run('tools/test.py', config, work_dir / 'epoch_1.pth', '--work-dir', work_dir, '--out', metrics_file,
        '--cfg-options', *overrides)  # fmt: skip
    metrics = json.loads(metrics_file.read_text())
    print(f'{config.name}: losses {losses}; metrics {metrics}')
    assert 'coco/bbox_mAP' in metrics
    if 'mask-rcnn' in config.name:  # tiny_mask-rcnn_...
        assert 'coco/segm_mAP' in metrics


# ----------------------------------------------------------------------------- the detection demo
DEMO_CONFIGS = sorted((REPO / 'configs/detection').glob('*_mixer-demo_pyramid_digits.py'))
CLASSIFICATION_DEMO = REPO / 'configs/mixer-demo_digits.py'


def test_digit_detection_set_matches_its_annotations(tmp_path):
    from pycocotools import mask as mask_utils
    from sklearn.datasets import load_digits

    from mmmixer.dataset_writers import prepare_digit_detection, prepare_digits
    from mmmixer.dataset_writers.digit_detection import STROKE_THRESHOLD

    settings = dict(num_train=5, num_val=4, canvas_size=48, digits_per_canvas=(2, 3), digit_sizes=(12, 20))
    info = prepare_digit_detection(str(tmp_path / 'set'), **settings)
    targets = load_digits().target
    # The classification demo's held-out scans, from the files it writes: val/<label>/<scan index>.png.
    prepare_digits(str(tmp_path / 'digits'))
    held_out = {int(p.stem) for p in (tmp_path / 'digits' / 'val').glob('*/*.png')}

    for split in ('train', 'val'):
        coco = json.loads((tmp_path / f'set/annotations/instances_{split}.json').read_text())
        assert [c['name'] for c in coco['categories']] == [str(d) for d in range(10)]
        assert len(coco['images']) == info[f'num_{split}']
        assert len(coco['annotations']) == info[f'num_{split}_instances']
        for image in coco['images']:
            pixels = np.asarray(Image.open(tmp_path / 'set' / split / image['file_name']))
            assert pixels.shape == (image['height'], image['width']) == (48, 48)
            annotations = [a for a in coco['annotations'] if a['image_id'] == image['id']]
            assert 1 <= len(annotations) <= 3
            covered = np.zeros(pixels.shape, dtype=int)
            for annotation in annotations:
                mask = mask_utils.decode(annotation['segmentation']).astype(bool)
                rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
                x, y, w, h = annotation['bbox']
                assert (x, y, x + w - 1, y + h - 1) == (cols[0], rows[0], cols[-1], rows[-1])  # tight box of the mask
                assert annotation['area'] == mask.sum()
                assert (pixels[mask] >= STROKE_THRESHOLD).all()  # the mask is bright strokes on the canvas
                assert annotation['category_id'] == targets[annotation['scan_index']] + 1
                assert (annotation['scan_index'] in held_out) == (split == 'val')
                covered += mask
            assert covered.max() == 1  # digits never overlap
            assert (pixels[covered == 0] < 255).all() and pixels.max() >= STROKE_THRESHOLD

    # Deterministic from the seed, reused when asked again, never clobbered by other settings.
    prepare_digit_detection(str(tmp_path / 'again'), **settings)
    for path in (tmp_path / 'set').rglob('*.*'):
        assert path.read_bytes() == (tmp_path / 'again' / path.relative_to(tmp_path / 'set')).read_bytes(), path
    assert prepare_digit_detection(str(tmp_path / 'set'), **settings) == info
    with pytest.raises(FileExistsError, match='digit detection set made with other settings'):
        prepare_digit_detection(str(tmp_path / 'set'), **{**settings, 'seed': 1})
    with pytest.raises(ValueError, match='digit_sizes'):
        prepare_digit_detection(str(tmp_path / 'bad'), **{**settings, 'digit_sizes': (12, 64)})
    assert not (tmp_path / 'bad').exists()


@pytest.mark.parametrize('config', DEMO_CONFIGS, ids=lambda p: p.name)
def test_demo_detection_configs_start_from_the_classification_demo(config):
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg, classification = Config.fromfile(config), Config.fromfile(CLASSIFICATION_DEMO)
    backbone, pretrained_backbone = cfg.model.backbone, classification.model.backbone
    for key in ('type', 'arch', 'img_size', 'patch_size'):
        assert backbone[key] == pretrained_backbone[key], key
    # The checkpoint that `make demo` writes: its last epoch.
    last_epoch = f'work_dirs/demo/epoch_{classification.train_cfg.max_epochs}.pth'
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=last_epoch, prefix='backbone.')
    assert cfg.default_scope == 'mmdet' and cfg.train_dataloader.dataset.metainfo.classes == tuple('0123456789')
    cfg.model.backbone.init_cfg = None
    detector = build_model_from_config(cfg)
    assert isinstance(detector.backbone, MlpMixer) and isinstance(detector.neck, MixerPyramidNeck)


def demo_detector(checkpoint: Path, **backbone_overrides):
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(DEMO_CONFIGS[-1])  # RetinaNet
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    cfg.model.backbone.update(backbone_overrides)
    detector = build_model_from_config(cfg)
    detector.init_weights()
    return detector


def test_detector_adapts_a_classification_checkpoint_of_another_grid_block_diagonally(tmp_path):
    # Pretrained on an 8x8 token grid; the detector mixes all 16x16 tokens of 64x64 canvases globally with a
    # 4 times wider token MLP: the paper's block-diagonal init, which computes what 8x8 windows of the
    # pretrained MLPs compute.
    pretrained = save_classification_checkpoint(tmp_path / 'cls.pth', img_size=32)
    detector = demo_detector(
        tmp_path / 'cls.pth', token_mixing='global', img_size=64, arch=dict(embed_dims=64, num_layers=4,
        tokens_mlp_dims=4 * 32, channels_mlp_dims=256),
    )  # fmt: skip
    loaded = detector.backbone.state_dict()
    token_mixing = [k for k in loaded if '.mlp_tokens.' in k]
    assert loaded['blocks.0.mlp_tokens.fc1.weight'].shape == (128, 256)
    for key in loaded.keys() - set(token_mixing):
        assert torch.equal(loaded[key], pretrained[key]), key
    reference = MlpMixer(arch=dict(embed_dims=64, num_layers=4, tokens_mlp_dims=32, channels_mlp_dims=256),
        img_size=32, patch_size=4, token_mixing='window', out_type='featmap').eval()  # fmt: skip
    reference.load_state_dict(pretrained)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        (expected,), (actual,) = reference(images), detector.backbone.eval()(images)
    assert (expected - actual).abs().max() < 1e-4


def test_detector_adapts_a_classification_checkpoint_of_another_grid_bilinearly(tmp_path):
    # Pretrained on a 4x4 token grid (16x16 digits); the demo config's backbone has 8x8-token windows of the same
    # hidden width: the token MLPs are resampled over the grid.
    import torch.nn.functional as F

    pretrained = save_classification_checkpoint(tmp_path / 'cls.pth', img_size=16)
    loaded = demo_detector(tmp_path / 'cls.pth').backbone.state_dict()
    for key, value in loaded.items():
        if '.mlp_tokens.' not in key:
            assert torch.equal(value, pretrained[key]), key
    for block in range(4):
        prefix = f'blocks.{block}.mlp_tokens.'

        def upsample(weights):  # (rows, 16) over the 4x4 grid -> (rows, 64) over 8x8
            grid = F.interpolate(weights.reshape(-1, 1, 4, 4), size=(8, 8), mode='bilinear', align_corners=False)
            return grid.reshape(weights.shape[0], 64)

        fc1, fc2 = pretrained[prefix + 'fc1.weight'], pretrained[prefix + 'fc2.weight']
        torch.testing.assert_close(loaded[prefix + 'fc1.weight'], upsample(fc1) * 16 / 64)
        torch.testing.assert_close(loaded[prefix + 'fc1.bias'], pretrained[prefix + 'fc1.bias'])
        torch.testing.assert_close(loaded[prefix + 'fc2.weight'], upsample(fc2.t()).t())
        torch.testing.assert_close(loaded[prefix + 'fc2.bias'], upsample(pretrained[prefix + 'fc2.bias'][None])[0])


def test_detection_demo_refuses_a_checkpoint_that_is_not_a_mixer(tmp_path):
    resnet_like = tmp_path / 'resnet.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 7, 7)}}, resnet_like)
    code, output = run_main(demo_det_main, '--pretrained', resnet_like, '--work-dir', tmp_path / 'work',
        '--data-dir', tmp_path / 'data')  # fmt: skip
    assert code == 2, output
    assert f'{resnet_like} is not a Mixer classification checkpoint' in output and 'Traceback' not in output
    assert not (tmp_path / 'data').exists() and not (tmp_path / 'work').exists()


def test_detection_demo_stops_at_once_on_a_missing_checkpoint(tmp_path):
    # A mistyped --pretrained used to start the classification demo into the typo's folder.
    code, output = run_main(demo_det_main, '--pretrained', tmp_path / 'mixr.pth', '--work-dir',
        tmp_path / 'work', '--data-dir', tmp_path / 'data')  # fmt: skip
    assert code == 2 and 'Traceback' not in output, output
    assert f'error: checkpoint {tmp_path / "mixr.pth"} does not exist; run `mmmixer demo`' in output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_detection_demo_that_finds_nothing_says_so_in_one_line(tmp_path):
    # Two iterations from random init leave every score below mmdet's threshold: CocoMetric returns no
    # metrics, which used to end the demo with a KeyError traceback.
    code, output = run('tools/run_demo_det.py', '--from-scratch', '--num-train', 16, '--data-dir', tmp_path / 'data',
        '--work-dir', tmp_path / 'work', '--cfg-options', 'train_cfg.max_epochs=1', check=False)  # fmt: skip
    assert code == 1 and 'Traceback' not in output, output[-3000:]
    assert 'error: the detector found no object on the held-out canvases, so there is no mAP; train longer' in output


def another_models_backbone(kind: str) -> dict:
    if kind == 'resnet':
        return {'conv1.weight': torch.zeros(8, 3, 7, 7)}
    if kind == 'timm vit':  # shares blocks.N.norm1/norm2 and norm with the Mixer
        import timm

        return timm.create_model('vit_tiny_patch16_224', pretrained=False, num_classes=0, depth=2).state_dict()
    # mmpretrain's ViT: its patch_embed.projection and layers.N.ln1 are renamed like mmpretrain's Mixer's
    return {'patch_embed.projection.weight': torch.zeros(64, 3, 4, 4), 'layers.0.ln1.weight': torch.ones(64),
        'layers.0.attn.qkv.weight': torch.zeros(192, 64), 'ln1.weight': torch.ones(64)}  # fmt: skip


@pytest.mark.parametrize('kind', ['resnet', 'timm vit', 'mmpretrain vit'])
def test_detector_refuses_another_models_checkpoint_instead_of_training_from_scratch(tmp_path, kind):
    # mmengine's Pretrained init loads with strict=False: such a checkpoint used to log unexpected keys and
    # leave a random Mixer (with a ViT's norms or patch embedding loaded into it).
    from mmmixer.models.utils.checkpoint_compat import NotAMixerCheckpointError

    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in another_models_backbone(kind).items()}}, other)
    with pytest.raises(NotAMixerCheckpointError, match=r'holds no Mixer weights \(no .*blocks.0.mlp_tokens.fc1'):
        demo_detector(other)


def test_load_from_refuses_another_detectors_checkpoint(tmp_path):
    # Runner's load_from loads a whole detector non-strictly: a ResNet RetinaNet's weights left the Mixer random.
    from mmengine.runner import load_checkpoint

    from mmmixer.models.utils.checkpoint_compat import NotAMixerCheckpointError

    resnet_detector = tmp_path / 'retinanet_r50.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 7, 7), 'bbox_head.retina_cls.bias':
        torch.zeros(9)}}, resnet_detector)  # fmt: skip
    detector = demo_detector(resnet_detector, init_cfg=None)
    with pytest.raises(NotAMixerCheckpointError, match='holds no Mixer weights'):
        load_checkpoint(detector, str(resnet_detector), map_location='cpu', strict=False)


@pytest.mark.slow
def test_train_reports_another_models_checkpoint_in_one_line(tmp_path):
    from mmmixer.dataset_writers import prepare_digit_detection

    data = tmp_path / 'data'
    prepare_digit_detection(str(data), num_train=2, num_val=1, canvas_size=64, digits_per_canvas=(1, 1))
    resnet_like = tmp_path / 'resnet.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 7, 7)}}, resnet_like)
    code, output = run('tools/train.py', DEMO_CONFIGS[-1], '--work-dir', tmp_path / 'work', '--no-validate',
        '--cfg-options', f'model.backbone.init_cfg.checkpoint={resnet_like}',
        f'train_dataloader.dataset.data_root={data}/', check=False)  # fmt: skip
    assert code == 2 and 'Traceback' not in output, output[-3000:]
    assert 'error: the checkpoint loaded into MlpMixer holds no Mixer weights' in output
    assert not list((tmp_path / 'work').glob('*.pth'))


@pytest.mark.slow
@pytest.mark.parametrize('config', DEMO_CONFIGS, ids=lambda p: p.name)
def test_demo_detection_config_trains_from_a_classification_checkpoint_and_tests(tmp_path, config):
    from mmmixer.dataset_writers import prepare_digit_detection

    data = tmp_path / 'data'
    prepare_digit_detection(str(data), num_train=4, num_val=2, canvas_size=64, digits_per_canvas=(1, 2),
        digit_sizes=(16, 24))  # fmt: skip
    save_classification_checkpoint(tmp_path / 'cls.pth', img_size=16)  # another grid: adapted when loaded
    model = [f'model.backbone.init_cfg.checkpoint={tmp_path / "cls.pth"}']
    # One iteration leaves every score below the default 0.05: keep every box so that COCO metrics are computed.
    model.append('model.test_cfg.rcnn.score_thr=0.0' if 'mask-rcnn' in config.name else 'model.test_cfg.score_thr=0.0')
    train = [
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=2',
        'default_hooks.logger.interval=1',
        f'train_dataloader.dataset.data_root={data}/',
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    ]
    test = [
        f'test_dataloader.dataset.data_root={data}/',
        f'test_evaluator.ann_file={data}/annotations/instances_val.json',
        'test_dataloader.dataset.pipeline.1.scale=(64,64)',
    ]
    work_dir = tmp_path / 'work'
    _, output = run('tools/train.py', config, '--work-dir', work_dir, '--no-validate', '--cfg-options', *model, *train)
    assert f'load backbone. in model from: {tmp_path / "cls.pth"}' in output
    assert 'resized the token-mixing weights from a 4x4 to a 8x8 token grid (bilinear)' in output
    losses = [float(value) for value in re.findall(r'\bloss: (\S+)', output)]
    assert len(losses) == 2 and all(np.isfinite(losses)), output[-3000:]
    metrics_file = tmp_path / 'metrics.json'
    run('tools/test.py', config, work_dir / 'epoch_1.pth', '--work-dir', work_dir, '--out', metrics_file,
        '--cfg-options', *model, *test)  # fmt: skip
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/bbox_mAP_50'] <= 1.0
    assert ('coco/segm_mAP' in metrics) == ('mask-rcnn' in config.name)

    # The demo's picture: image | truth | prediction for held-out canvases, drawn by mmdet's visualizer.
    from mmmixer.cli.demo_det import draw

    model_options = {'model.backbone.init_cfg.checkpoint': str(tmp_path / 'cls.pth')}
    picture = draw(str(config), str(work_dir / 'epoch_1.pth'), str(data), model_options, str(tmp_path / 'picture.png'))
    grid = np.asarray(Image.open(picture).convert('RGB'))
    assert grid.shape == (2 * 64 * 3 + 4, 3 * 64 * 3 + 2 * 4, 3)  # the 2 held-out canvases x 3 panels, 3x upscaled
    truth_panel = grid[: 64 * 3, 64 * 3 + 4 : 2 * 64 * 3 + 4]
    image_panel = grid[: 64 * 3, : 64 * 3]
    assert (truth_panel != image_panel).any(2).sum() > 100  # the true boxes are drawn over the canvas
