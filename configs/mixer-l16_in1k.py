# Mixer-L/16 on ImageNet-1k (paper: https://arxiv.org/abs/2105.01601), trained with the paper's recipe
# (_base_/mixer_in1k_recipe.py; docs/recipe.md).
# timm's weights converted with tools/model_converters/timm_to_mmmixer.py are published at top-1 72.34 /
# top-5 88.02 with this test pipeline (MMClassification model zoo; see configs/metafile.yml).
_base_ = ['_base_/mixer_in1k_recipe.py']
# The architecture of _base_/models/mixer_l16.py (paper Table 1).
model = dict(backbone=dict(arch='l'), head=dict(in_channels=1024))
