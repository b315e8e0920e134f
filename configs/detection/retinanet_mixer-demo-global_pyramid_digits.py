# As retinanet_mixer-demo_pyramid_digits.py, with global token mixing: every block mixes all 32x32 tokens of the
# 128x128 canvas. The pretrained 8x8-token MLPs are adapted when loaded: block-diagonal with one copy per 32x32-pixel
# window (16 copies, token hidden width 16 x 32), so the detector starts as the windowed one and training can then
# mix across windows.
_base_ = './retinanet_mixer-demo_pyramid_digits.py'

model = dict(backbone=dict(token_mixing='global', img_size=128, arch=dict(tokens_mlp_dims=16 * 32)))
