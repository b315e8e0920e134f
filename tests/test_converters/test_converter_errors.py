"""Weight converters on bad input: one line that says what is wrong, from the command line and the library."""

import argparse
import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import timm
import torch

from mmmixer.converters import ConversionError, to_mmmixer, to_timm
from tests.helpers import REPO, ShellPayload, randomize_
from tests.test_converters.weights import google_npz, quiet, tiny_timm


# ----------------------------------------------------------------------------- bad input (CLI)
def convert_cli(tool: str, *args):
    """The command line's main() in this process, as ``tools/model_converters/TOOL ARGS`` runs it (the tools are
    one-line wrappers: tests/test_cli/test_front_door.py); (exit code, stdout, stderr)."""
    from mmmixer.cli.convert import to_mmmixer_main, to_timm_main

    argv = [*map(str, args), '--no-progress']
    mains = {
        'timm_to_mmmixer.py': lambda: to_mmmixer_main('timm', argv),
        'jax_to_mmmixer.py': lambda: to_mmmixer_main('Google', argv),
        'mmmixer_to_timm.py': lambda: to_timm_main(argv),
    }
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = mains[tool]()
        except SystemExit as exit_:
            code = exit_.code
    return code, stdout.getvalue(), stderr.getvalue()


def assert_one_line_error(code, stderr, *fragments):
    assert code == 2, stderr
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_cli_converts_and_prints_the_inferred_arch(tmp_path):
    src = tmp_path / 'm.pth'
    torch.save(tiny_timm().state_dict(), src)
    tool = 'tools/model_converters/timm_to_mmmixer.py'
    command = [sys.executable, tool, src, tmp_path / 'out.pth', '--verify', '--no-progress']
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    code, stdout, stderr = result.returncode, result.stdout, result.stderr
    assert code == 0, stderr
    assert 'patch 8, grid 4x4' in stdout and '10-class head' in stdout and 'verify: max |logits difference|' in stdout


def test_not_a_mixer_checkpoint(tmp_path):
    src = tmp_path / 'vit.pth'
    torch.save(timm.create_model('vit_tiny_patch16_224', pretrained=False, depth=1).state_dict(), src)
    dst = tmp_path / 'out.pth'
    code, _, stderr = convert_cli('timm_to_mmmixer.py', src, dst)
    assert_one_line_error(code, stderr, 'not an MLP-Mixer checkpoint', 'missing keys', 'stem.proj.weight')
    assert not dst.exists() and os.listdir(tmp_path) == ['vit.pth']


def test_truncated_file(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(tiny_timm().state_dict(), good)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    code, _, stderr = convert_cli('timm_to_mmmixer.py', bad, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, 'truncated or corrupt')
    assert not (tmp_path / 'out.pth').exists()


def test_truncated_npz(tmp_path):
    good = google_npz(tiny_timm().state_dict(), tmp_path / 'good.npz')
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(good.read_bytes()[:1000])
    code, _, stderr = convert_cli('jax_to_mmmixer.py', bad, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, 'truncated')


def test_unknown_extension_and_wrong_tool(tmp_path):
    src = tmp_path / 'weights.ckpt'
    src.write_bytes(b'x')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', src, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, "unknown extension '.ckpt'")
    npz = google_npz(tiny_timm().state_dict(), tmp_path / 'Mixer-B_16.npz')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', npz, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, 'use jax_to_mmmixer.py')


def test_shape_mismatch(tmp_path):
    state = tiny_timm().state_dict()
    state['blocks.1.mlp_channels.fc2.weight'] = torch.zeros(16, 60)
    torch.save(state, tmp_path / 'm.pth')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', tmp_path / 'm.pth', tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, 'shape mismatch at blocks.1.mlp_channels.fc2.weight', '(16, 60)', '(16, 64)')


def test_existing_destination_needs_force(tmp_path):
    torch.save(tiny_timm().state_dict(), tmp_path / 'm.pth')
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'keep me')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', tmp_path / 'm.pth', dst)
    assert_one_line_error(code, stderr, 'exists', '--force')
    assert dst.read_bytes() == b'keep me'
    code, _, stderr = convert_cli('timm_to_mmmixer.py', tmp_path / 'm.pth', dst, '--force')
    assert code == 0 and dst.stat().st_size > 1000


def test_arch_that_disagrees(tmp_path):
    torch.save(tiny_timm().state_dict(), tmp_path / 'm.pth')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', tmp_path / 'm.pth', tmp_path / 'o.pth', '--arch', 'b')
    assert_one_line_error(code, stderr, '--arch b disagrees with the file')


def test_unwritable_destination(tmp_path, monkeypatch):
    torch.save(tiny_timm().state_dict(), tmp_path / 'm.pth')
    code, _, stderr = convert_cli('timm_to_mmmixer.py', tmp_path / 'm.pth', tmp_path / 'missing' / 'o.pth')
    assert_one_line_error(code, stderr, 'does not exist; create it first')
    # Root may write anywhere, so simulate a read-only folder for the in-process check.
    monkeypatch.setattr(os, 'access', lambda path, mode: False)
    with pytest.raises(ConversionError, match='is not writable'):
        to_mmmixer(str(tmp_path / 'm.pth'), str(tmp_path / 'o.pth'), log=quiet)
    assert not (tmp_path / 'o.pth').exists()


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    src = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'x': ShellPayload(marker)}}, src)  # torch's own zip format
    code, _, stderr = convert_cli('timm_to_mmmixer.py', src, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, 'refusing to load', 'system, which is not on the safe allow-list')
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


# ----------------------------------------------------------------------------- timm training checkpoints
def timm_training_checkpoint(model: torch.nn.Module, ema: torch.nn.Module) -> dict:
    """What timm's train.py saves (timm/utils/checkpoint_saver.py, CheckpointSaver._save) after a step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    args = argparse.Namespace(
        model='mixer_b16_224', pretrained=False, num_classes=10, img_size=None, input_size=None,
        mean=None, std=None, batch_size=128, lr=None, lr_base=0.1, opt='adamw', weight_decay=0.05,
        sched='cosine', epochs=300, warmup_epochs=5, aa='rand-m9-mstd0.5-inc1', mixup=0.8, smoothing=0.1,
        drop_path=0.1, model_ema=True, model_ema_decay=0.9998, amp=True, device='cuda:0', distributed=False,
        world_size=1, rank=0, local_rank=0, prefetcher=True, grad_accum_steps=1, output='', experiment='',
        data_dir='/data/imagenet', train_split='train', crop_pct=None, interpolation='', seed=42,
    )  # fmt: skip
    return {
        'epoch': 3,
        'arch': args.model,
        'optimizer': optimizer.state_dict(),
        'version': 2,
        'args': args,
        'amp_scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000,
                       '_growth_tracker': 17},
        'state_dict': model.state_dict(),
        'state_dict_ema': ema.state_dict(),
        'metric': 71.25,
    }  # fmt: skip


@pytest.mark.parametrize('name', ['model_best.pth.tar', 'checkpoint-3.pth'])
def test_a_timm_training_checkpoint_converts(tmp_path, name):
    model, ema = tiny_timm(), randomize_(tiny_timm(), seed=7)
    src, dst = tmp_path / name, tmp_path / 'out.pth'
    torch.save(timm_training_checkpoint(model, ema), src)
    code, stdout, stderr = convert_cli('timm_to_mmmixer.py', src, dst, '--verify')
    assert code == 0, stderr
    assert 'verify: max |logits difference|' in stdout
    converted = torch.load(dst, weights_only=True)['state_dict']
    # The trained weights (not the EMA copy) under mmmixer's names.
    assert torch.equal(converted['backbone.stem.proj.weight'], model.state_dict()['stem.proj.weight'])
    assert torch.equal(converted['head.fc.weight'], model.state_dict()['head.weight'])


# ----------------------------------------------------------------------------- what is wrong, said plainly
@pytest.mark.parametrize(
    ('content', 'looks_like'),
    [
        (b'{"model": "mixer_b16_224", "weights": [0.1, 0.2]}', 'JSON text'),
        (b'model:\n  arch: b\n', 'YAML text'),
        (b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01', 'a JPEG image'),
        (b'Mixer-B/16 weights: see the release page\n', 'text'),
    ],
)
def test_a_file_that_is_no_checkpoint(tmp_path, content, looks_like):
    src, dst = tmp_path / 'mixer.pth', tmp_path / 'out.pth'
    src.write_bytes(content)
    code, _, stderr = convert_cli('timm_to_mmmixer.py', src, dst)
    assert_one_line_error(code, stderr, f'{src} is not a PyTorch checkpoint: it looks like {looks_like}')
    assert 'could run code' not in stderr and not dst.exists()


def test_an_npy_renamed_npz(tmp_path):
    np.save(tmp_path / 'Mixer-B_16.npy', np.ones((2, 2), dtype=np.float32))
    src, dst = tmp_path / 'Mixer-B_16.npz', tmp_path / 'out.pth'
    os.replace(tmp_path / 'Mixer-B_16.npy', src)
    code, _, stderr = convert_cli('jax_to_mmmixer.py', src, dst)
    assert_one_line_error(code, stderr, f'{src} is not a .npz archive', 'a single NumPy array (.npy)')
    assert not dst.exists()


def test_a_corrupt_npz_member(tmp_path):
    good = google_npz(tiny_timm().state_dict(), tmp_path / 'good.npz')
    data = bytearray(good.read_bytes())
    # Inside the data of a 16x64 float32 kernel (stored uncompressed): its zip CRC no longer matches.
    member = data.index(b'\x93NUMPY', data.index(b'MixerBlock_0/channel_mixing/Dense_0/kernel.npy'))
    data[member + 1000 : member + 1010] = b'\xff' * 10
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(bytes(data))
    code, _, stderr = convert_cli('jax_to_mmmixer.py', bad, tmp_path / 'out.pth')
    assert_one_line_error(code, stderr, f'{bad}: member', 'cannot be read')
    assert not (tmp_path / 'out.pth').exists()


def test_an_mmpretrain_vit_is_not_a_mixer(tmp_path):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    vit = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='VisionTransformer',
                arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
                img_size=32,
                patch_size=8,
            ),
            head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=32),
        )
    )
    assert 'head.layers.head.weight' in vit.state_dict()
    src, dst = tmp_path / 'vit-tiny.pth', tmp_path / 'out.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': vit.state_dict()}, src)
    for tool in ('timm_to_mmmixer.py', 'mmmixer_to_timm.py'):
        code, _, stderr = convert_cli(tool, src, dst)
        assert_one_line_error(
            code, stderr, 'not an MLP-Mixer checkpoint', 'blocks.0.mlp_tokens.fc1.weight', 'backbone.'
        )
        assert 'unexpected key' not in stderr and not dst.exists()


# ----------------------------------------------------------------------------- GELU of Google weights, to timm
def test_google_weights_to_timm_verify_with_tanh_gelu_and_say_how_to_run_them(tmp_path):
    state = tiny_timm().state_dict()
    npz = google_npz(state, tmp_path / 'Mixer-B_16.npz')
    to_mmmixer(str(npz), str(tmp_path / 'mm.pth'), log=quiet)
    code, stdout, stderr = convert_cli('mmmixer_to_timm.py', tmp_path / 'mm.pth', tmp_path / 'timm.pth', '--verify')
    assert code == 0, stderr
    assert 'verify: max |logits difference| vs timm MlpMixer with tanh-approximated GELU' in stdout
    # The note's code, run as a timm user would, computes the JAX function: the mmmixer model its meta describes.
    code_lines = [line.strip() for line in stdout.splitlines() if line.startswith('    ')]
    assert code_lines[0].startswith('model = ') and 'act_layer=timm.layers.GELUTanh' in code_lines[0]
    namespace = {'timm': timm, 'torch': torch}
    exec('\n'.join(code_lines), namespace)
    timm_model = namespace['model'].eval()

    from mmmixer.converters import infer_spec
    from mmmixer.models.builders import build_mmmixer_classifier

    mm_checkpoint = torch.load(tmp_path / 'mm.pth', weights_only=True)
    jax_function = build_mmmixer_classifier(infer_spec(state), 'tanh')
    jax_function.load_state_dict(mm_checkpoint['state_dict'])
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (timm_model(images) - jax_function(images, mode='tensor')).abs().max() < 1e-5


def test_a_meta_with_an_unknown_gelu_is_refused(tmp_path):
    torch.save(tiny_timm().state_dict(), tmp_path / 'm.pth')
    to_mmmixer(str(tmp_path / 'm.pth'), str(tmp_path / 'mm.pth'), log=quiet)
    checkpoint = torch.load(tmp_path / 'mm.pth', weights_only=True)
    checkpoint['meta']['gelu_approximate'] = 'sigmoid'
    torch.save(checkpoint, tmp_path / 'mm.pth')
    with pytest.raises(ConversionError, match="meta.gelu_approximate is 'sigmoid'"):
        to_timm(str(tmp_path / 'mm.pth'), str(tmp_path / 'timm.pth'), log=quiet)
    assert not (tmp_path / 'timm.pth').exists()
