# Mixer-S/16 image classifier (paper Table 1), 1000 ImageNet classes.
_base_ = ['./mixer_b16.py']
model = dict(backbone=dict(arch='s'), head=dict(in_channels=512))
