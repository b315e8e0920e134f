"""``mmmixer.apis.cpu_predictor``: a classifier's logits on the CPU in fp32, bf16 (weights converted once) or int8.

The reference is the classifier's own fp32 forward (``mode='tensor'``) and mmpretrain's ``test_step``; bf16 is held
to the agreement a deployment needs (logits cosine, top-1), not to fp32's tolerance.
"""

import importlib

import pytest
import torch
from torch.nn import functional as F

from mmmixer.apis.cpu_predictor import PredictingClassifier, UnsupportedDtypeError, cpu_predictor, resolve_dtype
from mmmixer.models.builders import build_in_scope
from tests.helpers import randomize_

# The module (``mmmixer.apis.cpu_predictor`` as an attribute is the function the package exports).
cpu_predictor_module = importlib.import_module('mmmixer.apis.cpu_predictor')
needs_bf16 = pytest.mark.skipif(
    not cpu_predictor_module.bf16_capabilities(), reason='this processor has no bf16 instructions'
)


def demo_classifier():
    """The digits demo's model (32 px, 10 classes) with weights that are not trivial."""
    from mmpretrain import get_model

    return randomize_(get_model('mixer-demo_digits'), std=0.2).eval()


def small_classifier():
    """A small 224 px Mixer with 1000 classes: the token grid and head of the real models, a fraction of the cost."""
    model = build_in_scope(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='mmmixer.MlpMixer',
                arch=dict(embed_dims=64, num_layers=2, tokens_mlp_dims=32, channels_mlp_dims=256),
                img_size=224,
                patch_size=16,
            ),
            neck=dict(type='GlobalAveragePooling', dim=1),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=64),
        )
    )
    return randomize_(model, std=0.1).eval()


def fp32_logits(model, images):
    with torch.no_grad():
        return model(images, mode='tensor')


@needs_bf16
@pytest.mark.parametrize(('build', 'size'), [(demo_classifier, 32), (small_classifier, 224)])
def test_bf16_logits_agree_with_fp32_and_the_model_is_left_as_it_was(build, size):
    model = build()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    images = torch.randn(16, 3, size, size)
    reference = fp32_logits(model, images)
    predict = cpu_predictor(model, 'bf16')
    logits = predict(images)
    assert logits.dtype == torch.float32 and logits.shape == reference.shape
    assert F.cosine_similarity(logits, reference, dim=1).min() > 0.999
    assert (logits.argmax(1) == reference.argmax(1)).float().mean() >= 15 / 16
    # The weights were converted once, in a copy: bf16 there, the caller's model float32 and unchanged.
    assert {p.dtype for p in predict.module.parameters()} == {torch.bfloat16}
    assert all(torch.equal(model.state_dict()[name], value) for name, value in before.items())
    assert 'bf16' in predict.description


def test_fp32_is_the_model_itself():
    model = demo_classifier()
    images = torch.randn(8, 3, 32, 32)
    predict = cpu_predictor(model)
    assert predict.dtype == 'fp32' and predict.module.classifier is model
    assert torch.equal(predict(images), fp32_logits(model, images))
    assert all(parameter.requires_grad for parameter in model.parameters())  # still trainable: not changed


def test_auto_takes_bf16_where_the_processor_has_it_and_fp32_elsewhere(monkeypatch):
    monkeypatch.setattr(cpu_predictor_module, 'bf16_capabilities', lambda: ['amx_bf16'])
    assert resolve_dtype('auto') == 'bf16'
    monkeypatch.setattr(cpu_predictor_module, 'bf16_capabilities', lambda: [])
    assert resolve_dtype('auto') == 'fp32'
    predict = cpu_predictor(demo_classifier(), 'auto')
    assert predict.dtype == 'fp32' and predict.description.startswith('auto: fp32')


def test_bf16_without_bf16_instructions_is_one_line_naming_auto(monkeypatch):
    monkeypatch.setattr(cpu_predictor_module, 'bf16_capabilities', lambda: [])
    with pytest.raises(UnsupportedDtypeError, match='has no bf16 instructions') as error:
        cpu_predictor(demo_classifier(), 'bf16')
    assert '\n' not in str(error.value) and 'auto' in str(error.value)


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        (dict(dtype='fp16'), "dtype 'fp16' is not one of fp32, bf16, int8, auto"),
        (dict(dtype='int8'), 'int8 needs calibration images'),
        (dict(dtype='fp32', calibration=[torch.zeros(1, 3, 32, 32)]), 'calibration images are for dtype int8'),
    ],
)
def test_bad_arguments_are_one_line(kwargs, message):
    with pytest.raises(UnsupportedDtypeError, match=message) as error:
        cpu_predictor(demo_classifier(), **kwargs)
    assert '\n' not in str(error.value)


def test_int8_where_the_quantisation_is_not_installed_says_so(monkeypatch):
    monkeypatch.setattr(cpu_predictor_module, 'INT8_MODULE', 'mmmixer.deploy.no_such_int8_module')
    with pytest.raises(UnsupportedDtypeError, match='int8 is unavailable in this installation') as error:
        cpu_predictor(demo_classifier(), 'int8', calibration=[torch.zeros(2, 3, 32, 32)])
    assert '\n' not in str(error.value)


@needs_bf16
def test_predictions_are_the_heads_and_the_preprocessors_own():
    """fp32 through PredictingClassifier is mmpretrain's test_step exactly; bf16 agrees on the labels."""
    from mmpretrain.structures import DataSample

    model = demo_classifier()
    batch = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(6)],
        data_samples=[DataSample().set_gt_label(i % 10) for i in range(6)],
    )
    with torch.no_grad():
        expected = model.test_step(batch)
        ours = PredictingClassifier(model, cpu_predictor(model)).test_step(batch)
        bf16 = PredictingClassifier(model, cpu_predictor(model, 'bf16')).test_step(batch)
    for mine, theirs, low in zip(ours, expected, bf16, strict=True):
        assert torch.equal(mine.pred_label, theirs.pred_label)
        torch.testing.assert_close(mine.pred_score, theirs.pred_score)
        assert (low.pred_score - theirs.pred_score).abs().max() < 0.02
        assert torch.equal(low.gt_label, theirs.gt_label)


def test_a_head_that_is_not_single_label_is_refused_in_one_line():
    model = build_in_scope(
        dict(
            type='ImageClassifier',
            backbone=dict(type='mmmixer.MlpMixer', arch=dict(embed_dims=16, num_layers=1, tokens_mlp_dims=8,
                          channels_mlp_dims=32), img_size=32, patch_size=4),
            neck=dict(type='GlobalAveragePooling', dim=1),
            head=dict(type='MultiLabelLinearClsHead', num_classes=5, in_channels=16),
        )
    )  # fmt: skip
    with pytest.raises(UnsupportedDtypeError, match='MultiLabelLinearClsHead is not a single-label'):
        PredictingClassifier(model, cpu_predictor(model))


@needs_bf16
@pytest.mark.slow  # inductor compiles C++ in a subprocess
def test_compiled_bf16_agrees_and_pads_a_smaller_batch_to_the_compiled_one():
    model = demo_classifier()
    images = torch.randn(8, 3, 32, 32)
    reference = fp32_logits(model, images)
    predict = cpu_predictor(model, 'bf16', compile=True)
    full, last = predict(images), predict(images[:3])
    assert 'torch.compile with freezing' in predict.description and predict.first_call_seconds > 0
    assert last.shape == (3, 10)
    torch.testing.assert_close(last, full[:3], atol=1e-2, rtol=0)  # one graph: the padded rows change nothing
    assert F.cosine_similarity(full, reference, dim=1).min() > 0.999
