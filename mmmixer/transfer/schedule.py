"""How long to fine-tune on a folder of N images: big_vision's two presets, as one rule.

big_vision ``configs/transfer.py`` fixes the steps per data set at a total batch of 512: 10,000 steps with
500 warm-up for CIFAR-10/100 (lines 68, 70: 49,000 training images, about 104 epochs), 500 with 100 warm-up
for Pets and Flowers (lines 75, 77: 3,312 and 918 images, 77 and 279 epochs). One rule gives both:

* steps at batch 512: 100 epochs, rounded to a multiple of 100, at least 500 and at most 10,000
  (CIFAR: 9,600; Pets: 600; Flowers: 500);
* warm-up: 5% of the steps, at least 100 and at most 500 (10,000 -> 500, 500 -> 100), and never more than a
  fifth of the steps (so a short ``--steps`` run still decays);
* another total batch B sees as many images: steps and warm-up times 512 / B (rounded up); the learning rate
  scales by B / 512 (``auto_scale_lr``, mmpretrain's linear rule).
"""

from __future__ import annotations

import math
from typing import NamedTuple

PROTOCOL_BATCH = 512
EPOCHS = 100
MIN_STEPS, MAX_STEPS = 500, 10_000
MIN_WARMUP, MAX_WARMUP = 100, 500


class Schedule(NamedTuple):
    steps: int
    warmup: int


def protocol_steps(num_images: int) -> int:
    """Steps at batch 512 for ``num_images`` training images (about 100 epochs, within big_vision's presets)."""
    if num_images < 1:
        raise ValueError(f'num_images={num_images}: a schedule needs at least one training image')
    steps = round(EPOCHS * num_images / PROTOCOL_BATCH / 100) * 100
    return min(max(steps, MIN_STEPS), MAX_STEPS)


def warmup_steps(steps: int) -> int:
    """Warm-up for a run of ``steps``: 5% of it within [100, 500], at most a fifth of the run."""
    return min(max(steps // 20, MIN_WARMUP), MAX_WARMUP, steps // 5)


def transfer_schedule(num_images: int, total_batch: int = PROTOCOL_BATCH, steps: int | None = None) -> Schedule:
    """Steps and warm-up for fine-tuning on ``num_images`` with ``total_batch`` images per step.

    ``steps`` (the user's ``--steps``) replaces the rule's step count and is taken as is, at any batch.
    """
    if total_batch < 1:
        raise ValueError(f'total_batch={total_batch} must be at least 1')
    if steps is not None:
        if steps < 1:
            raise ValueError(f'steps={steps} must be at least 1')
        return Schedule(steps, warmup_steps(steps))
    at_512 = protocol_steps(num_images)
    scale = PROTOCOL_BATCH / total_batch
    return Schedule(math.ceil(at_512 * scale), math.ceil(warmup_steps(at_512) * scale))


def schedule_config(schedule: Schedule, validate: bool) -> dict:
    """The config keys (``train_cfg``, ``param_scheduler``, checkpoint interval) that run ``schedule``: linear
    warm-up from lr / warmup, then cosine to 0, per iteration (configs/finetune/_base_/cifar10.py says why)."""
    steps, warmup = schedule
    schedulers = []
    if warmup:
        schedulers.append(dict(type='LinearLR', start_factor=1 / warmup, by_epoch=False, begin=0, end=warmup))
    schedulers.append(dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup, end=steps))
    val_interval = max(steps // 10, 1) if validate else steps + 1
    return {
        'train_cfg': dict(type='IterBasedTrainLoop', max_iters=steps, val_interval=val_interval),
        'param_scheduler': schedulers,
        'default_hooks.checkpoint': dict(type='CheckpointHook', by_epoch=False, interval=steps, max_keep_ckpts=1),
    }
