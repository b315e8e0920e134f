# Mixer-B/32 image classifier (paper Table 1), 1000 ImageNet classes.
_base_ = ['./mixer_b16.py']
model = dict(backbone=dict(patch_size=32))
