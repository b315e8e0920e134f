# Mixer-L/16 image classifier (paper Table 1), 1000 ImageNet classes.
_base_ = ['./mixer_b16.py']
model = dict(backbone=dict(arch='l'), head=dict(in_channels=1024))
