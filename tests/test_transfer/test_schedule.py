"""Fine-tuning steps scaled to a folder's size, and the learning rate they run: big_vision's transfer schedule."""

import math

import pytest
import torch
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

from mmmixer.transfer.schedule import schedule_config, transfer_schedule


def big_vision_lr(step, base, warmup, total):
    """big_vision utils.create_learning_rate_schedule with decay_type='cosine' (utils.py:1113-1137)."""
    progress = min(max((step - warmup) / (total - warmup), 0.0), 1.0)
    lr = base * 0.5 * (1 + math.cos(math.pi * progress))
    return lr * min(1.0, step / warmup) if warmup else lr


@pytest.mark.parametrize(
    ('images', 'expected'),
    [
        (918, (500, 100)),  # Flowers' training split: big_vision's preset (configs/transfer.py:77)
        (3_312, (600, 100)),  # Pets: big_vision 500 / 100 (transfer.py:75)
        (49_000, (9_600, 480)),  # CIFAR: big_vision 10,000 / 500 (transfer.py:68)
        (5_000_000, (10_000, 500)),  # capped at CIFAR's
        (20, (500, 100)),  # never fewer than 500 steps of 512
    ],
)
def test_steps_and_warmup_at_batch_512(images, expected):
    assert tuple(transfer_schedule(images)) == expected


def test_a_smaller_batch_runs_more_steps_over_as_many_images():
    assert tuple(transfer_schedule(918, total_batch=64)) == (4_000, 800)
    assert tuple(transfer_schedule(918, total_batch=100)) == (2_560, 512)


def test_given_steps_are_kept_and_a_short_run_still_decays():
    assert tuple(transfer_schedule(918, total_batch=64, steps=50)) == (50, 10)
    assert tuple(transfer_schedule(918, steps=3)) == (3, 0)  # too short to warm up
    with pytest.raises(ValueError, match='at least 1'):
        transfer_schedule(918, steps=0)


@pytest.mark.parametrize(('warmup', 'total'), [(100, 500), (5, 30)])
def test_the_schedulers_follow_big_vision_after_its_zero_lr_first_step(warmup, total):
    """Warm-up iteration i runs big_vision's lr of step i + 1 (big_vision spends step 0 at lr 0); from the end of
    the warm-up on, the learning rates are big_vision's to 1e-9."""
    config = schedule_config(transfer_schedule(10, steps=total)._replace(warmup=warmup), validate=False)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
    classes = {'LinearLR': LinearLR, 'CosineAnnealingLR': CosineAnnealingLR}
    schedulers = [classes[spec.pop('type')](optimizer, **spec) for spec in config['param_scheduler']]
    for step in range(total):
        lr = optimizer.param_groups[0]['lr']
        expected = big_vision_lr(step + 1 if step < warmup else step, 0.01, warmup, total)
        assert lr == pytest.approx(expected, abs=1e-9), step
        optimizer.step()  # (no gradient: nothing moves) before the schedulers, as the training loop orders them
        for scheduler in schedulers:
            scheduler.step()
    assert config['train_cfg']['max_iters'] == total
