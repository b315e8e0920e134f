# Mixer-H/14 image classifier (paper Table 1), 1000 ImageNet classes.
_base_ = ['./mixer_b16.py']
model = dict(backbone=dict(arch='h', patch_size=14), head=dict(in_channels=1280))
