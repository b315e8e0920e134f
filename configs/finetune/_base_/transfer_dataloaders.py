# The dataloaders of big_vision's transfer protocol; each data set's base names its data set and splits.
train_dataloader = dict(
    batch_size=64,  # x 8 GPUs = 512 (transfer.py:155)
    num_workers=8,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iterations, not epochs: no pause between passes
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
test_dataloader = val_dataloader
