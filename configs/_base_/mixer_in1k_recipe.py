# The paper's ImageNet-1k training recipe (big_vision configs/mlp_mixer_i1k.py, 76.3% top-1 with Mixer-B/16), the one
# place both configs/mixer-b16_in1k.py and configs/mixer-l16_in1k.py take it from. Point by point, with the big_vision
# source line of each value and what is knowingly different: docs/recipe.md. Data: datasets/imagenet_bs64_mixer_224.py
# (inception crop, flip, TensorFlow's RandAugment(2, 15)); optimisation: schedules/imagenet_bs4096_mixer_300e.py.
_base_ = [
    './models/mixer_b16.py',
    './datasets/imagenet_bs64_mixer_224.py',
    './schedules/imagenet_bs4096_mixer_300e.py',
    './default_runtime.py',
]

model = dict(
    # Stochastic depth as big_vision's models/mlp_mixer.py: block i drops a branch with probability
    # i / (num_blocks - 1) * 0.1 (0 at the first block, 0.1 at the last), and kept branches are not rescaled.
    backbone=dict(drop_path_rate=0.1, drop_path_mode='linear', drop_path_scale_by_keep=False),
    head=dict(
        # big_vision's sigmoid_xent: summed over the 1000 classes, averaged over the batch. mmpretrain's ClsHead
        # passes avg_factor=batch size to the loss, so use_sigmoid with loss_weight 1.0 gives exactly that scale (it
        # matters: gradients are clipped at global norm 1.0). The targets must be one-hot scores: Mixup makes the data
        # preprocessor produce them; without Mixup set data_preprocessor.to_onehot=True.
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        # A zero head kernel and init_head_bias=-6.9 (about log(1/1000)): every class starts at probability 1e-3.
        init_cfg=dict(type='Constant', layer='Linear', val=0, bias=-6.9),
    ),
    # mixup p=0.5: one Beta(0.5, 0.5) ratio per batch.
    train_cfg=dict(augments=dict(type='Mixup', alpha=0.5)),
)
