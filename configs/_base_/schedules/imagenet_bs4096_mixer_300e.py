# The paper's ImageNet-1k schedule (MLP-Mixer, Tolstikhin et al. 2021, Sec. 3 / App. B; big_vision
# configs/mlp_mixer_i1k.py, which reaches 76.3% top-1 with Mixer-B/16): 300 epochs at batch 4096,
# Adam(W) lr 1e-3 (b1 0.9, b2 0.999), weight decay 0.1, gradient clipping at global norm 1.0,
# 10k linear warm-up steps (= 32 epochs at batch 4096 on 1.28M images), then linear decay to 1e-5.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.1),
    clip_grad=dict(max_norm=1.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=32, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=1e-2, by_epoch=True, begin=32, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# 64 GPUs x 64 images. `--auto-scale-lr` rescales lr to the batch you actually use.
auto_scale_lr = dict(base_batch_size=4096)
