# big_vision's transfer protocol (the Mixer paper's fine-tuning), what does not depend on the data set or resolution.
# Line by line against big_vision configs/transfer.py and optax.py, and where mmmixer differs: docs/transfer.md.
_base_ = ['../../_base_/default_runtime.py']

# value_range(-1, 1) (transfer.py:95): pixels / 127.5 - 1, RGB.
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)

# optax_name='big_vision.momentum_hp' (transfer.py:168) = optax.trace(decay=0.9) (optax.py:220-222): torch's SGD with
# momentum 0.9 and no dampening is the same update; big_vision keeps the momentum in bfloat16, we in float32.
# grad_clip_norm=1.0 (transfer.py:169) -> clip by global norm 1; wd=None (transfer.py:170) -> no weight decay;
# lr=0.01 (transfer.py:172; the docstring's grid, lines 22-26: 0.003, 0.01, 0.03).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2),
)
# batch_size=512 in total (transfer.py:155): 8 GPUs x 64. With another total batch, `--auto-scale-lr` scales the lr
# linearly (mmpretrain's rule); big_vision would keep 512.
auto_scale_lr = dict(base_batch_size=512)

# No mixup (transfer.py:173, p=0.0): no batch augmentation. The head is new and zero-initialised (transfer.py:41-42
# leaves out head/kernel and head/bias; the model base sets Constant 0); the backbone comes through init_cfg.
load_from = None

val_cfg = dict()
test_cfg = dict()
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),  # log_training_steps=10 (transfer.py:163)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1_000, max_keep_ckpts=1),  # ckpt_steps (:164)
)
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)  # config.seed = 0 (transfer.py:175)
