"""Mixer as an mmsegmentation backbone: the configs, any input size in slide and whole inference, the
checkpoint through init_cfg, the digit segmentation set, training + IoUMetric, the demo's picture."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.cli.demo_seg import main as demo_seg_main
from mmmixer.models import MlpMixer
from tests.helpers import REPO, randomize_, run, run_main, save_classification_checkpoint

SEGMENTATION = REPO / 'configs/segmentation'
ADE_CONFIG = SEGMENTATION / 'upernet_mixer-b16_pyramid_8xb2-160k_ade20k-512x512.py'
DEMO_CONFIG = SEGMENTATION / 'upernet_mixer-demo_pyramid_digits.py'
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def build_segmentor(config: Path):
    """The config's segmentor with a randomly initialised backbone."""
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(str(config))
    cfg.model.backbone.init_cfg = None
    return build_model_from_config(cfg)


def predict(segmentor, image: torch.Tensor, mode: str, crop: int, stride: int):
    """mmseg's own inference (``EncoderDecoder.predict``) on one unnormalised image of any size."""
    from mmengine.config import ConfigDict
    from mmseg.structures import SegDataSample

    segmentor.test_cfg = ConfigDict(mode=mode, crop_size=(crop, crop), stride=(stride, stride))
    sample = SegDataSample(metainfo=dict(img_shape=image.shape[-2:], ori_shape=image.shape[-2:], pad_shape=None))
    with torch.no_grad():
        return segmentor.predict(image[None], [sample])[0]


# ----------------------------------------------------------------------------- configs, any size
def test_segmentation_configs_are_mmseg_configs_with_our_backbone_and_neck():
    from mmengine.config import Config

    for config in (ADE_CONFIG, DEMO_CONFIG):
        cfg = Config.fromfile(str(config))
        assert cfg.default_scope == 'mmseg' and cfg.custom_imports.imports == ['mmmixer']
        assert cfg.model.type == 'EncoderDecoder' and cfg.model.pretrained is None
        assert cfg.model.backbone.type == 'mmmixer.MlpMixer' and cfg.model.backbone.token_mixing == 'window'
        assert cfg.model.backbone.init_cfg.type == 'Pretrained'
        assert cfg.model.neck.type == 'mmmixer.MixerPyramidNeck'
        assert (cfg.model.decode_head.type, cfg.model.auxiliary_head.type) == ('UPerHead', 'FCNHead')
    ade = Config.fromfile(str(ADE_CONFIG))
    # mmseg's ViT-B UPerNet recipe (configs/vit/vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py in mmseg 1.2.2)
    assert ade.model.decode_head.channels == 512 and ade.model.decode_head.pool_scales == (1, 2, 3, 6)
    assert ade.model.decode_head.num_classes == ade.model.auxiliary_head.num_classes == 150
    assert ade.model.test_cfg == dict(mode='slide', crop_size=(512, 512), stride=(341, 341))
    assert ade.optim_wrapper.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    assert ade.optim_wrapper.constructor == 'mmmixer.MixerLayerDecayOptimWrapperConstructor'
    assert ade.optim_wrapper.paramwise_cfg == dict(layer_decay_rate=0.9, norm_decay_mult=0.0)
    warmup, poly = ade.param_scheduler
    assert (warmup.type, warmup.end, poly.type, poly.begin, poly.end) == ('LinearLR', 1500, 'PolyLR', 1500, 160000)
    assert ade.train_dataloader.batch_size == 2 and ade.train_cfg.max_iters == 160000
    assert ade.train_dataloader.dataset.data_root == 'data/ade/ADEChallengeData2016'


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_demo_segmentor_gives_per_pixel_logits_at_an_odd_size(mode):
    segmentor = randomize_(build_segmentor(DEMO_CONFIG)).eval()
    image = torch.randint(0, 256, (3, 375, 500)).float()
    result = predict(segmentor, image, mode, crop=128, stride=85)
    assert result.seg_logits.data.shape == (11, 375, 500)
    assert result.pred_sem_seg.data.shape == (1, 375, 500)
    assert torch.equal(result.pred_sem_seg.data[0], result.seg_logits.data.argmax(0))
    if mode == 'slide':  # each 128x128 crop holds 4x4 windows of the pretrained 32x32 px: the logits are the crops'
        whole = predict(segmentor, image[:, :128, :128], 'whole', crop=128, stride=85)
        assert torch.allclose(result.seg_logits.data[:, :85, :85], whole.seg_logits.data[:, :85, :85], atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_ade20k_segmentor_gives_per_pixel_logits_at_an_odd_size(mode):
    import timm

    segmentor = build_segmentor(ADE_CONFIG).eval()  # the real Mixer-B/16 UPerNet, random weights
    timm_b16 = timm.create_model('mixer_b16_224', pretrained=False, num_classes=0)  # B/16 without its head
    assert sum(p.numel() for p in segmentor.backbone.parameters()) == sum(p.numel() for p in timm_b16.parameters())
    image = torch.randint(0, 256, (3, 375, 500)).float()
    result = predict(segmentor, image, mode, crop=512, stride=341)
    assert result.seg_logits.data.shape == (150, 375, 500)
    assert result.pred_sem_seg.data.shape == (1, 375, 500)
    assert torch.isfinite(result.seg_logits.data).all()


# ----------------------------------------------------------------------------- the checkpoint through init_cfg
def test_demo_segmentor_loads_the_classification_checkpoint_as_it_is_in_window_mode(tmp_path):
    pretrained = save_classification_checkpoint(tmp_path / 'cls.pth', img_size=32)
    segmentor = build_segmentor(DEMO_CONFIG)
    segmentor.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'cls.pth'), prefix='backbone.')
    segmentor.init_weights()
    loaded = segmentor.backbone.state_dict()
    assert loaded.keys() == pretrained.keys()
    for key, value in loaded.items():
        assert torch.equal(value, pretrained[key]), key


def test_segmentor_adapts_a_checkpoint_of_another_grid_through_init_cfg(tmp_path):
    # Pretrained on an 8x8 token grid (32x32 digits); the segmentor mixes all 16x16 tokens of 64x64 images globally
    # with a 4 times wider token MLP: the block-diagonal adaptation, which computes what the pretrained MLPs compute in
    # 8x8-token windows.
    pretrained = save_classification_checkpoint(tmp_path / 'cls.pth', img_size=32)
    arch = dict(embed_dims=64, num_layers=4, tokens_mlp_dims=4 * 32, channels_mlp_dims=256)
    init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'cls.pth'), prefix='backbone.')
    segmentor = build_segmentor(DEMO_CONFIG)
    segmentor.backbone = MlpMixer(arch=arch, img_size=64, patch_size=4, token_mixing='global', out_type='featmap',
        out_indices=(-1,), init_cfg=init_cfg)  # fmt: skip
    segmentor.init_weights()
    assert segmentor.backbone.state_dict()['blocks.0.mlp_tokens.fc1.weight'].shape == (128, 256)
    reference = MlpMixer(arch=dict(arch, tokens_mlp_dims=32), img_size=32, patch_size=4, token_mixing='window',
        out_type='featmap').eval()  # fmt: skip
    reference.load_state_dict(pretrained)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        (expected,), (actual,) = reference(images), segmentor.backbone.eval()(images)
    assert (expected - actual).abs().max() < 1e-4


# ----------------------------------------------------------------------------- the digit segmentation set
def test_digit_segmentation_set_is_the_detection_canvases_with_their_masks(tmp_path):
    from pycocotools import mask as mask_utils

    from mmmixer.dataset_writers import prepare_digit_detection, prepare_digit_segmentation

    settings = dict(num_train=6, num_val=4, canvas_size=64, digits_per_canvas=(1, 3), digit_sizes=(16, 24))
    detection = prepare_digit_detection(str(tmp_path / 'det'), **settings)
    segmentation = prepare_digit_segmentation(str(tmp_path / 'seg'), **settings)
    assert segmentation['classes'] == ['background', *'0123456789']
    for split in ('train', 'val'):
        coco = json.loads((tmp_path / 'det' / 'annotations' / f'instances_{split}.json').read_text())
        names = {image['id']: image['file_name'] for image in coco['images']}
        pixels = np.zeros(11, dtype=np.int64)
        for image_id, name in names.items():
            image = np.asarray(Image.open(tmp_path / 'seg' / 'img_dir' / split / name))
            assert np.array_equal(image, np.asarray(Image.open(tmp_path / 'det' / split / name)))
            expected = np.zeros(image.shape, dtype=np.uint8)
            for annotation in (a for a in coco['annotations'] if a['image_id'] == image_id):
                rle = dict(annotation['segmentation'], counts=annotation['segmentation']['counts'].encode())
                expected[mask_utils.decode(rle).astype(bool)] = annotation['category_id']  # digit d: class d + 1
            labels = np.asarray(Image.open(tmp_path / 'seg' / 'ann_dir' / split / name))
            assert np.array_equal(labels, expected), name
            assert np.array_equal(labels > 0, image >= 128)  # the strokes: every bright pixel, nothing else
            pixels += np.bincount(labels.ravel(), minlength=11)
        assert list(segmentation[f'{split}_pixels_per_class'].values()) == pixels.tolist()
    assert detection['num_val'] == segmentation['num_val'] == 4


def test_prepare_digit_segmentation_command_writes_the_set_once(tmp_path):
    from mmmixer.cli.prepare_data import digit_segmentation_main

    args = ['--num-train', 3, '--num-val', 2, '--canvas-size', 64, '--digit-sizes', 16, 24]
    code, output = run_main(digit_segmentation_main, tmp_path / 'seg', *args)
    assert code == 0 and f'digit segmentation: 3 train / 2 val canvases in {tmp_path / "seg"}' in output, output
    assert len(list((tmp_path / 'seg' / 'ann_dir' / 'val').glob('*.png'))) == 2
    code, output = run_main(digit_segmentation_main, tmp_path / 'seg', *args[:-2], 32, 40)  # other settings
    assert code == 2 and 'holds a digit segmentation set made with other settings' in output, output
    code, output = run_main(digit_segmentation_main, tmp_path / 'other', '--num-val', 0)
    assert code == 2 and 'num_val=0 must be a positive number of canvases' in output and 'Traceback' not in output
    assert not (tmp_path / 'other').exists()


def test_segmentation_demo_refuses_a_checkpoint_that_is_not_a_mixer(tmp_path):
    resnet_like = tmp_path / 'resnet.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 7, 7)}}, resnet_like)
    code, output = run_main(demo_seg_main, '--pretrained', resnet_like, '--work-dir', tmp_path / 'work',
        '--data-dir', tmp_path / 'data')  # fmt: skip
    assert code == 2 and 'Traceback' not in output, output
    assert f'{resnet_like} is not a Mixer classification checkpoint' in output.strip().splitlines()[-1]
    assert not (tmp_path / 'data').exists() and not (tmp_path / 'work').exists()


# ----------------------------------------------------------------------------- training + mmseg's IoUMetric
@pytest.mark.slow
def test_demo_segmentation_config_trains_from_a_classification_checkpoint_tests_and_draws(tmp_path):
    from mmmixer.cli.demo_seg import draw
    from mmmixer.dataset_writers import prepare_digit_segmentation

    data = tmp_path / 'data'
    prepare_digit_segmentation(str(data), num_train=4, num_val=3, canvas_size=64, digits_per_canvas=(1, 2),
        digit_sizes=(16, 24))  # fmt: skip
    save_classification_checkpoint(tmp_path / 'cls.pth', img_size=16)  # another grid: adapted when loaded
    model = [f'model.backbone.init_cfg.checkpoint={tmp_path / "cls.pth"}', 'model.data_preprocessor.size=(64,64)']
    train = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
        f'train_dataloader.dataset.data_root={data}/']  # fmt: skip
    work_dir = tmp_path / 'work'
    _, output = run('tools/train.py', DEMO_CONFIG, '--work-dir', work_dir, '--no-validate', '--cfg-options', *model,
        *train)  # fmt: skip
    assert f'load backbone. in model from: {tmp_path / "cls.pth"}' in output
    assert 'resized the token-mixing weights from a 4x4 to a 8x8 token grid (bilinear)' in output
    losses = [float(value) for value in re.findall(r'\bloss: (\S+)', output)]
    assert len(losses) == 2 and all(np.isfinite(losses)), output[-3000:]
    metrics_file = tmp_path / 'metrics.json'
    checkpoint = work_dir / 'iter_2.pth'
    _, output = run('tools/test.py', DEMO_CONFIG, checkpoint, '--work-dir', work_dir, '--out', metrics_file,
        '--cfg-options', *model, f'test_dataloader.dataset.data_root={data}/')  # fmt: skip
    assert 'per class results' in output  # mmseg's IoUMetric table
    metrics = json.loads(metrics_file.read_text())
    assert {'aAcc', 'mIoU', 'mAcc'} <= metrics.keys() and 0 <= metrics['mIoU'] <= 100

    picture = Path(draw(str(DEMO_CONFIG), str(checkpoint), str(data), {}, str(tmp_path / 'picture.png')))
    grid = np.asarray(Image.open(picture).convert('RGB'))
    assert grid.shape == (3 * 64 * 3 + 2 * 4, 3 * 64 * 3 + 2 * 4, 3)  # 3 canvases x (image | truth | prediction)
    image_panel, truth_panel = grid[: 64 * 3, : 64 * 3], grid[: 64 * 3, 64 * 3 + 4 : 2 * 64 * 3 + 4]
    strokes = np.asarray(Image.open(data / 'ann_dir' / 'val' / '00000.png').resize((64 * 3, 64 * 3), Image.NEAREST))
    coloured = (truth_panel != image_panel).any(2)
    assert coloured[strokes > 0].mean() > 0.9  # the true label map is blended over the canvas on the strokes


@pytest.mark.slow
def test_ade20k_config_trains_and_validates_on_the_ade20k_layout(tmp_path):
    """The ADE20K config as a user runs it on data/ade (here a few synthetic images in ADE20K's layout), with a tiny
    Mixer of the same windowed design so that an iteration fits a CPU."""
    root = tmp_path / 'ADEChallengeData2016'
    rng = np.random.default_rng(0)
    for split, count in (('training', 2), ('validation', 2)):
        for folder in ('images', 'annotations'):
            (root / folder / split).mkdir(parents=True)
        for index in range(count):
            name = f'ADE_{split[:5]}_{index:08d}'
            Image.fromarray(rng.integers(0, 256, (180, 240, 3), dtype=np.uint8)).save(
                root / 'images' / split / f'{name}.jpg'
            )
            labels = rng.integers(0, 151, (180, 240), dtype=np.uint8)  # 0 = "other", ignored (reduce_zero_label)
            Image.fromarray(labels).save(root / 'annotations' / split / f'{name}.png')
    tiny = tmp_path / 'tiny_ade.py'
    tiny.write_text(
        f"_base_ = ['{ADE_CONFIG}']\n"
        f'model = dict(backbone=dict(init_cfg=None, arch=dict(_delete_=True, **{TINY!r})),\n'
        '    neck=dict(in_channels=32, out_channels=32), decode_head=dict(in_channels=[32] * 4, channels=32),\n'
        '    auxiliary_head=dict(in_channels=32, channels=16))\n'
    )
    loaders = [
        f'{loader}.{key}'
        for loader in ('train_dataloader', 'val_dataloader')
        for key in (f'dataset.data_root={root}', 'num_workers=0')
    ]
    schedule = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2']  # fmt: skip
    _, output = run('tools/train.py', tiny, '--work-dir', tmp_path / 'work', '--cfg-options', *loaders, *schedule)
    losses = [float(value) for value in re.findall(r'\bloss: (\S+)', output)]
    assert len(losses) == 2 and all(np.isfinite(losses)), output[-3000:]
    assert re.search(r'Iter\(val\) \[2/2\].*mIoU: \d', output), output[-3000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
