# Oxford Flowers-102 for big_vision's transfer protocol: data set, classes and schedule (configs/transfer.py:77:
# 102 classes, steps=500, warmup=100). Training split: big_vision uses 'train[:90%]' of TFDS's train (1,020 images, =
# split 'train' here); we train on all of it and validate on 'val', test on 'test'.
# The pipelines depend on the resolution: see res224.py / res384.py / res448.py.
_base_ = ['transfer_dataloaders.py']
num_classes = 102
train_dataloader = dict(dataset=dict(type='Flowers102', data_root='data/Flowers102', split='train'))
val_dataloader = dict(dataset=dict(type='Flowers102', data_root='data/Flowers102', split='val'))
test_dataloader = dict(dataset=dict(type='Flowers102', data_root='data/Flowers102', split='test'))

# total_steps=500, warmup_steps=100, decay_type='cosine' (transfer.py:87-91); big_vision's schedule
# (utils.py:1113-1137) is lr * step / warmup, then lr * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2
# down to 0.
# LinearLR from 1/warmup over `warmup` iterations gives lr * (i + 1) / warmup at iteration i: big_vision's, less its
# first step at lr 0.
max_iters = 500
warmup_iters = 100
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters // 10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / warmup_iters, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
