"""Weight converters: formats, proof of equality, round trips."""

from pathlib import Path

import pytest
import timm
import torch

from mmmixer.converters import to_mmmixer, to_timm
from tests.helpers import REPO, randomize_
from tests.test_converters.weights import google_npz, quiet, tiny_timm


# ----------------------------------------------------------------------------- timm -> mmmixer
@pytest.mark.parametrize('layout', ['plain', 'state_dict', 'model', 'state_dict_ema'])
@pytest.mark.parametrize('extension', ['.pth', '.pt', '.bin'])
def test_timm_torch_files_convert_and_verify(tmp_path, layout, extension):
    state = tiny_timm().state_dict()
    src = tmp_path / f'mixer{extension}'
    torch.save(state if layout == 'plain' else {layout: state, 'epoch': 3}, src)
    result = to_mmmixer(str(src), str(tmp_path / 'out.pth'), run_verify=True, log=quiet)
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-5
    assert result.spec.num_classes == 10 and result.spec.grid == (4, 4) and result.spec.patch_size == 8


def test_safetensors_source(tmp_path):
    from safetensors.torch import save_file

    src = tmp_path / 'model.safetensors'
    save_file(tiny_timm().state_dict(), src)
    result = to_mmmixer(str(src), str(tmp_path / 'out.pth'), run_verify=True, log=quiet)
    assert result.max_abs_diff <= 1e-5


def test_output_is_a_safe_mmengine_checkpoint_with_meta(tmp_path):
    src = tmp_path / 'mixer_b16_224.goog_in21k_ft_in1k.pth'
    torch.save(tiny_timm().state_dict(), src)
    dst = tmp_path / 'out.pth'
    to_mmmixer(str(src), str(dst), log=quiet)
    checkpoint = torch.load(dst, weights_only=True)  # plain Python types only
    assert set(checkpoint) == {'meta', 'state_dict'}
    meta = checkpoint['meta']
    assert meta['source'] == src.name
    assert len(meta['source_sha256']) == 64
    assert meta['num_classes'] == 10 and meta['arch'] == 'custom'
    assert meta['preprocessing']['interpolation'] == 'bicubic' and meta['preprocessing']['mean'] == [127.5] * 3
    assert meta['converter'].startswith('mmmixer ')
    assert 'backbone.stem.proj.weight' in checkpoint['state_dict'] and 'head.fc.weight' in checkpoint['state_dict']


@pytest.mark.slow
def test_real_b16_layout_converts_and_loads_into_the_b16_config(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from mmmixer.analysis.complexity import build_model_from_config

    src = tmp_path / 'jx_mixer_b16_224-76587d61.pth'
    torch.save(randomize_(timm.create_model('mixer_b16_224', pretrained=False)).state_dict(), src)
    dst = tmp_path / 'mixer-b16.pth'
    result = to_mmmixer(str(src), str(dst), arch='b', run_verify=True, log=quiet)
    assert result.spec.arch_name == 'b' and result.spec.num_classes == 1000 and result.max_abs_diff <= 1e-5
    model = build_model_from_config(Config.fromfile(REPO / 'configs/mixer-b16_in1k.py'))
    load_checkpoint(model, str(dst), strict=True)


def test_any_head_or_none(tmp_path):
    src = tmp_path / 'in21k.pth'
    torch.save(tiny_timm(num_classes=21843).state_dict(), src)
    assert to_mmmixer(str(src), str(tmp_path / 'a.pth'), run_verify=True, log=quiet).spec.num_classes == 21843
    headless = to_mmmixer(str(src), str(tmp_path / 'b.pth'), no_head=True, run_verify=True, log=quiet)
    assert headless.spec.num_classes == 0
    assert not any(k.startswith('head') for k in torch.load(tmp_path / 'b.pth', weights_only=True)['state_dict'])


def test_publish_appends_the_hash(tmp_path):
    src = tmp_path / 'm.pth'
    torch.save(tiny_timm().state_dict(), src)
    result = to_mmmixer(str(src), str(tmp_path / 'mixer.pth'), publish=True, log=quiet)
    path = Path(result.path)
    assert path.name.startswith('mixer-') and len(path.stem.split('-')[-1]) == 8
    assert not (tmp_path / 'mixer.pth').exists()


# ----------------------------------------------------------------------------- round trips
def test_timm_to_mmmixer_to_timm_is_bit_exact(tmp_path):
    state = tiny_timm().state_dict()
    torch.save(state, tmp_path / 'src.pth')
    to_mmmixer(str(tmp_path / 'src.pth'), str(tmp_path / 'mm.pth'), log=quiet)
    to_timm(str(tmp_path / 'mm.pth'), str(tmp_path / 'back.pth'), run_verify=True, log=quiet)
    back = torch.load(tmp_path / 'back.pth', weights_only=True)
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_npz_to_mmmixer_to_timm_is_bit_exact_and_verifies_against_tanh_gelu(tmp_path):
    state = tiny_timm().state_dict()
    npz = google_npz(state, tmp_path / 'Mixer-B_16.npz')
    result = to_mmmixer(str(npz), str(tmp_path / 'mm.pth'), run_verify=True, log=quiet)
    assert 'tanh' in result.reference and result.max_abs_diff <= 1e-5
    meta = torch.load(tmp_path / 'mm.pth', weights_only=True)['meta']
    assert meta['gelu_approximate'] == 'tanh'
    assert meta['model_config']['backbone']['act_cfg'] == dict(type='GELU', approximate='tanh')
    to_timm(str(tmp_path / 'mm.pth'), str(tmp_path / 'timm.safetensors'), log=quiet)
    from safetensors.torch import load_file

    back = load_file(tmp_path / 'timm.safetensors')
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)


def test_the_gelu_choice_matters_for_google_weights():
    """A tanh-GELU model (the JAX weights) is measurably not timm's exact-GELU function."""
    from mmmixer.converters import infer_spec, timm_to_mmmixer_names
    from mmmixer.models.builders import build_mmmixer_classifier, build_timm_mixer

    state = tiny_timm().state_dict()
    spec = infer_spec(state)
    reference = build_timm_mixer(spec, 'none')
    reference.load_state_dict(state)
    converted = build_mmmixer_classifier(spec, 'tanh')
    converted.load_state_dict(timm_to_mmmixer_names(state))
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        difference = (reference(images) - converted(images, mode='tensor')).abs().max().item()
    assert difference > 1e-4
