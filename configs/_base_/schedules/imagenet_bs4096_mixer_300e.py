# The paper's ImageNet-1k optimisation (big_vision configs/mlp_mixer_i1k.py, built by big_vision/optax.py::make;
# docs/recipe.md gives the source line of each value):
# - Adam (b1 0.9, b2 0.999, eps 1e-8) at lr 1e-3, gradients clipped at global norm 1.0, batch 4096, 300 epochs.
# - Weight decay wd=1e-4 on kernels only (wd_mults defaults to [('.*/kernel$', 1.0)]): the weights of every Linear
#   and Conv layer, the head's included; no biases, no LayerNorm scales or offsets. big_vision adds wd * p after the
#   lr multiplier and before the schedule, so one step decays p by schedule(t) * 1e-4 * p; torch's AdamW decays
#   by lr(t) * weight_decay * p with lr(t) = 1e-3 * schedule(t), hence weight_decay = 1e-4 / 1e-3 = 0.1.
# - Schedule: a linear warm-up from 0 over 10k steps, then a linear decay of the multiplier to linear_end=1e-5,
#   i.e. to lr 1e-3 * 1e-5 = 1e-8 (big_vision's schedule multiplies the lr; it is not an absolute lr), updated
#   every step. 10k steps are 32 epochs at batch 4096 on ImageNet-1k (10,016 iterations of 313).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=32, convert_to_iter_based=True),
    dict(
        type='LinearLR', start_factor=1.0, end_factor=1e-5, by_epoch=True, begin=32, end=300, convert_to_iter_based=True
    ),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# 64 GPUs x 64 images. `--auto-scale-lr` rescales lr to the batch you actually use.
auto_scale_lr = dict(base_batch_size=4096)
