"""tools/train.py at the model's speed: batched collate, AMP that fits the device, fused AdamW,
in-place compile, and dataloader workers that leave when the run ends."""

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmmixer.engine.fast_training import compile_in_place, use_amp, use_fused_optimizer
from tests.helpers import REPO, TINY_DEMO_MODEL, run, run_main

B16_CONFIG = REPO / 'configs/mixer-b16_in1k.py'
DEMO_CONFIG = REPO / 'configs/mixer-demo_digits.py'


def build_classifier(config: Path, overrides: dict | None = None):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mmmixer  # noqa: F401  (registers the backbone)

    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(overrides or {})
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def tiny_demo_overrides() -> dict:
    return dict(item.split('=') for item in TINY_DEMO_MODEL) | {'model.backbone.arch.embed_dims': 16}


def as_ints(overrides: dict) -> dict:
    return {key: int(value) for key, value in overrides.items()}


# ----------------------------------------------------------------------------- batched collate
@pytest.mark.parametrize('config', [B16_CONFIG, DEMO_CONFIG], ids=['b16', 'demo'])
def test_configs_collate_batches_into_one_tensor(config):
    cfg = Config.fromfile(str(config))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].collate_fn == dict(type='default_collate'), name
    if config == B16_CONFIG:
        assert cfg.train_dataloader.pin_memory and cfg.train_dataloader.persistent_workers


def test_a_stacked_batch_is_normalised_exactly_like_a_list_of_images():
    """default_collate's uint8 batch and pseudo_collate's list give the same model input and Mixup."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    cfg = Config.fromfile(str(B16_CONFIG))
    init_default_scope('mmpretrain')
    preprocessor = MODELS.build(
        dict(type='ClsDataPreprocessor', **cfg.data_preprocessor, batch_augments=cfg.model.train_cfg)
    )
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)

    def preprocess(inputs, training: bool) -> dict:
        torch.manual_seed(7)  # the same Mixup draw (lambda from numpy, permutation from torch)
        np.random.seed(7)
        samples = [DataSample().set_gt_label(label) for label in (3, 1, 4, 1)]
        return preprocessor(dict(inputs=inputs, data_samples=samples), training=training)

    expected = torch.flip(images.float(), dims=[1]).sub(127.5).div(127.5)  # BGR -> RGB, (x - 127.5) / 127.5
    torch.testing.assert_close(preprocess(images, training=False)['inputs'], expected, rtol=0, atol=1e-6)
    stacked, listed = preprocess(images, training=True), preprocess(list(images), training=True)
    assert torch.equal(stacked['inputs'], listed['inputs'])
    assert not torch.equal(stacked['inputs'], expected)  # Mixup did mix
    scores = [torch.stack([s.gt_score for s in out['data_samples']]) for out in (stacked, listed)]
    assert torch.equal(scores[0], scores[1]) and torch.allclose(scores[0].sum(1), torch.ones(4))


def test_b16_config_train_step_with_mixup_and_soft_labels():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    overrides = {
        'model.backbone.arch': dict(
            _delete_=True, embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64
        )
    }
    overrides['model.head.in_channels'] = 32
    cfg, model = build_classifier(B16_CONFIG, overrides)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = dict(
        inputs=torch.randint(0, 256, (4, 3, 224, 224), dtype=torch.uint8),
        data_samples=[DataSample().set_gt_label(label) for label in (0, 5, 999, 5)],
    )
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    mixed = [sample.gt_score for sample in batch['data_samples']]
    assert all(score.shape == (1000,) for score in mixed)  # Mixup turned labels into soft scores


# ----------------------------------------------------------------------------- mixed precision, fused AdamW
def test_amp_uses_bfloat16_without_a_loss_scaler():
    optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3), loss_scale='dynamic')
    use_amp(optim_wrapper, 'bfloat16', 'cuda')
    assert optim_wrapper['type'] == 'mmmixer.AutocastOptimWrapper' and optim_wrapper['dtype'] == 'bfloat16'
    assert 'loss_scale' not in optim_wrapper

    fp16 = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
    use_amp(fp16, 'float16', 'cuda')
    assert fp16 == dict(type='AmpOptimWrapper', optimizer=fp16['optimizer'], loss_scale='dynamic', dtype='float16')


def test_amp_refuses_what_cannot_work():
    with pytest.raises(ValueError, match='float16 mixed precision needs a GPU.*--amp-dtype bfloat16'):
        use_amp(dict(type='OptimWrapper'), 'float16', 'cpu')
    with pytest.raises(ValueError, match="cannot replace the configured optim_wrapper type 'MyWrapper'"):
        use_amp(dict(type='MyWrapper'), 'bfloat16', 'cpu')


def test_autocast_optim_wrapper_trains_in_bfloat16():
    from mmengine.optim import build_optim_wrapper

    import mmmixer  # noqa: F401

    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    reference = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    reference.load_state_dict(model.state_dict())
    cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1), clip_grad=dict(max_norm=1.0))
    use_amp(cfg, 'bfloat16', 'cpu')
    wrapper = build_optim_wrapper(model, cfg)
    assert not hasattr(wrapper, 'loss_scaler')
    x = torch.randn(16, 8)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())

    # The same step by hand: bf16 autocast forward, clipping to norm 1, plain SGD.
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = reference(x).float().square().mean()
    loss.backward()
    nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
    with torch.no_grad():
        for param in reference.parameters():
            param -= 0.1 * param.grad
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs)

    # A float16 run's checkpoint (with its loss scaler's state) resumes under bfloat16.
    state = wrapper.state_dict() | {'loss_scaler': {'scale': 65536.0}}
    wrapper.load_state_dict(state)


def test_fused_adamw_is_asked_for_unless_the_config_says_otherwise():
    config = dict(optimizer=dict(type='AdamW', lr=1e-3))
    assert use_fused_optimizer(config, 'cpu') and config['optimizer']['fused'] is True
    explicit = dict(optimizer=dict(type='AdamW', lr=1e-3, foreach=True))
    assert not use_fused_optimizer(explicit, 'cpu') and 'fused' not in explicit['optimizer']
    lamb = dict(optimizer=dict(type='Lamb', lr=1e-3))
    assert not use_fused_optimizer(lamb, 'cpu') and 'fused' not in lamb['optimizer']


# ----------------------------------------------------------------------------- compile
def test_compiled_training_step_gives_the_eager_loss():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    def loss_after_one_step(compiled: bool) -> float:
        torch.manual_seed(0)
        cfg, model = build_classifier(DEMO_CONFIG, as_ints(tiny_demo_overrides()))
        names = compile_in_place(model, dict(backend='aot_eager')) if compiled else []
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        generator = torch.Generator().manual_seed(1)
        losses = []
        for _ in range(2):
            batch = dict(
                inputs=torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=generator),
                data_samples=[DataSample().set_gt_label(i) for i in range(8)],
            )
            losses.append(model.train_step(batch, optim_wrapper)['loss'].item())
        if compiled:
            assert names == ['backbone', 'neck', 'head']
            assert not any('_orig_mod' in key for key in model.state_dict())
        return losses

    eager, compiled = loss_after_one_step(False), loss_after_one_step(True)
    assert compiled == pytest.approx(eager, rel=1e-5)  # second loss: after one compiled optimizer step


@pytest.mark.slow
def test_train_compile_switch_writes_a_checkpoint_an_eager_model_loads(tmp_path, digits_dir):
    """mmengine's own `compile` setting (which crashed) now compiles the model parts in place."""
    _, output = run(
        'tools/train.py', DEMO_CONFIG, '--work-dir', tmp_path, '--amp', '--cfg-options', *TINY_DEMO_MODEL,
        'compile.backend=aot_eager', 'train_cfg.max_epochs=1', 'train_dataloader.num_workers=2',
        *(f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')),
    )  # fmt: skip
    assert "torch.compile({'backend': 'aot_eager'}) in place: backbone, neck, head" in output
    dumped = Config.fromfile(str(tmp_path / 'mixer-demo_digits.py'))
    assert dumped.optim_wrapper.type == 'mmmixer.AutocastOptimWrapper' and dumped.optim_wrapper.dtype == 'bfloat16'
    assert dumped.optim_wrapper.optimizer.fused is True
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=False)
    _, eager = build_classifier(DEMO_CONFIG, as_ints(tiny_demo_overrides()))
    eager.load_state_dict(checkpoint['state_dict'], strict=True)

    code, output = run(
        'tools/test.py', DEMO_CONFIG, tmp_path / 'epoch_1.pth', '--work-dir', tmp_path, '--compile',
        '--cfg-options', *TINY_DEMO_MODEL, 'compile.backend=aot_eager',
        f'test_dataloader.dataset.data_root={digits_dir}',
    )  # fmt: skip
    assert 'accuracy/top1' in output


def test_amp_float16_on_cpu_is_one_clear_line(tmp_path):
    from mmmixer.cli.train import main

    code, output = run_main(main, DEMO_CONFIG, '--work-dir', tmp_path, '--amp', '--amp-dtype', 'float16')
    assert code == 2
    assert output.strip() == (
        'error: float16 mixed precision needs a GPU (its loss scaler is CUDA-only in mmengine); '
        'use --amp-dtype bfloat16 on this device'
    )
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_train_ends_promptly_after_its_last_line(tmp_path, digits_dir):
    import subprocess
    import sys

    command = [
        sys.executable, 'tools/train.py', str(DEMO_CONFIG), '--work-dir', str(tmp_path), '--cfg-options',
        *TINY_DEMO_MODEL, 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=4', 'val_dataloader.num_workers=4',
        *(f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last_line_at = time.monotonic()
    lines = []
    for line in process.stdout:
        lines.append(line)
        last_line_at = time.monotonic()
    process.wait(timeout=60)
    exit_delay = time.monotonic() - last_line_at
    assert process.returncode == 0, ''.join(lines[-20:])
    assert any('accuracy/top1' in line for line in lines)
    assert exit_delay < 10.0, f'the process took {exit_delay:.1f} s to end after its last line'
