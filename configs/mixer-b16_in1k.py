# Mixer-B/16 on ImageNet-1k (paper: https://arxiv.org/abs/2105.01601), trained with the paper's recipe
# (_base_/mixer_in1k_recipe.py; docs/recipe.md).
# timm's weights converted with tools/model_converters/timm_to_mmmixer.py are published at top-1 76.68 /
# top-5 92.25 with this test pipeline (MMClassification model zoo; see configs/metafile.yml).
_base_ = ['_base_/mixer_in1k_recipe.py']
