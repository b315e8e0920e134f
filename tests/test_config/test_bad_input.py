"""Bad input through every door: one line naming the problem and the fix, exit code 2, no traceback, nothing written.

Each row of ``docs/errors.md`` is a row of ``ROWS``, run through the real command line in a subprocess.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmmixer.errors import BrokenImageError, ConfigTypeError, ConfigValueError, InputSizeError, one_line
from tests.helpers import REPO, ShellPayload

DEMO = 'configs/mixer-demo_digits.py'
FLOPS = 'tools/analysis_tools/get_flops.py'
TIMM_TO_MMMIXER = 'tools/model_converters/timm_to_mmmixer.py'


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, digits_dir):
    """The bad inputs (and a good checkpoint and data to go with them), in a folder of their own."""
    root = tmp_path_factory.mktemp('bad_input')
    torch.save({'state_dict': {'w': torch.zeros(64, 64)}, 'meta': {}}, root / 'good.pth')
    (root / 'empty.pth').write_bytes(b'')
    (root / 'truncated.pth').write_bytes((root / 'good.pth').read_bytes()[:300])
    (root / 'metrics.json').write_text('{"accuracy/top1": 96.6}\n')
    (root / 'json.pth').write_text('{"accuracy/top1": 96.6}\n')  # JSON named as a checkpoint
    torch.save({'state_dict': {}, 'meta': ShellPayload(root / 'pwned')}, root / 'evil.pth')
    (root / 'checkpoints').mkdir()
    (root / 'syntax_error.py').write_text(f"_base_ = ['{REPO / DEMO}']\nmodel = dict(backbone=dict(arch='s',)\n")
    (root / 'bad_transform.py').write_text(
        f"_base_ = ['{REPO / DEMO}']\n"
        "train_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'), "
        "dict(type='mmmixer.InceptionCrop', size=0), dict(type='PackInputs')]))\n"
    )
    (root / 'not_an_image.png').write_bytes(b'this is a text file, not a PNG\n' * 4)
    (root / 'existing.pth').write_bytes(b'keep me')
    (root / 'digit.png').write_bytes(next((digits_dir / 'val' / '3').glob('*.png')).read_bytes())
    return root


def data_options(digits_dir) -> list[str]:
    return [f'{name}.dataset.data_root={digits_dir}' for name in ('train_dataloader', 'val_dataloader')] + [
        f'test_dataloader.dataset.data_root={digits_dir}'
    ]


def train(*options, config=DEMO, extra=()):
    return lambda d, w, data: ['tools/train.py', config, '--work-dir', w, *extra, '--cfg-options', *data, *options]


def tools_test(checkpoint, *options):
    return lambda d, w, data: ['tools/test.py', DEMO, checkpoint(d), '--work-dir', w, '--cfg-options', *data, *options]


def image_demo(image, checkpoint=lambda d: d / 'good.pth'):
    return lambda d, w, data: ['demo/image_demo.py', image(d), DEMO, checkpoint(d)]


# (row id, command (inputs folder, work dir, data options) -> argv, what the one line says)
ROWS = [
    ('arch', train('model.backbone.arch=zz'), "error: model.backbone: arch='zz' is unknown; choose one of"),
    ('arch-dims', train('model.backbone.arch.embed_dims=0'), 'error: model.backbone: arch.embed_dims=0 must be at'),
    ('patch-size', train('model.backbone.patch_size=0'), 'error: model.backbone: patch_size=0 must be at least 1'),
    ('img-size', train('model.backbone.img_size=-5'), 'error: model.backbone: img_size=-5 must be at least 1'),
    (
        'drop-path-rate',
        train('model.backbone.drop_path_rate=1.5'),
        'error: model.backbone: drop_path_rate=1.5 is not a probability; use a value in [0, 1]',
    ),
    (
        'out-indices',
        train('model.backbone.out_indices=99'),
        'error: model.backbone: out_indices entry 99 is out of range for 4 blocks',
    ),
    (
        'token-mixing',
        train('model.backbone.token_mixing=local'),
        "error: model.backbone: token_mixing='local' is not supported",
    ),
    (
        'patch-stride',
        train('model.backbone.patch_cfg.stride=0'),
        'error: model.backbone: patch stride=0 must be at least 1',
    ),
    (
        'transform',
        lambda d, w, data: ['tools/train.py', d / 'bad_transform.py', '--work-dir', w, '--cfg-options', *data],
        'error: train_dataloader.dataset.pipeline.1: InceptionCrop size=0 must be a positive int or (height, width)',
    ),
    ('skip-switch', train('skip_broken_images=yes'), "error: skip_broken_images='yes' must be True or False"),
    (
        'config-syntax',
        lambda d, w, data: ['tools/train.py', d / 'syntax_error.py', '--work-dir', w],
        re.compile(r'error: config .*syntax_error\.py:2: .*fix the file'),
    ),
    (
        'resume-directory',
        lambda d, w, data: [
            'tools/train.py',
            DEMO,
            '--work-dir',
            w,
            '--resume',
            d / 'checkpoints',
            '--cfg-options',
            *data,
        ],
        re.compile(r'error: --resume .*checkpoints is a directory; name a checkpoint file in it'),
    ),
    (
        'load-from-directory',
        lambda d, w, data: [
            'tools/train.py',
            DEMO,
            '--work-dir',
            w,
            '--cfg-options',
            *data,
            f'load_from={d / "checkpoints"}',
        ],
        re.compile(r'error: load_from .*checkpoints is a directory'),
    ),
    (
        'load-from-missing',
        lambda d, w, data: [
            'tools/train.py',
            DEMO,
            '--work-dir',
            w,
            '--cfg-options',
            *data,
            f'load_from={d / "no.pth"}',
        ],
        re.compile(r'error: load_from .*no\.pth does not exist'),
    ),
    (
        'resume-unsafe',
        lambda d, w, data: [
            'tools/train.py',
            DEMO,
            '--work-dir',
            w,
            '--resume',
            d / 'evil.pth',
            '--cfg-options',
            *data,
        ],
        re.compile(r'error: refusing to load .*evil\.pth: its pickle names the global posix\.system'),
    ),
    (
        'test-directory',
        tools_test(lambda d: d / 'checkpoints'),
        re.compile(r'error: checkpoint .*checkpoints is a directory'),
    ),
    ('test-missing', tools_test(lambda d: d / 'no.pth'), re.compile(r'error: checkpoint .*no\.pth does not exist')),
    (
        'test-empty',
        tools_test(lambda d: d / 'empty.pth'),
        'empty.pth is not a PyTorch checkpoint: it looks like an empty',
    ),
    ('test-truncated', tools_test(lambda d: d / 'truncated.pth'), 'truncated.pth is not a readable checkpoint ('),
    ('test-not-a-checkpoint', tools_test(lambda d: d / 'metrics.json'), 'metrics.json is not a PyTorch checkpoint'),
    (
        'test-backbone',
        tools_test(lambda d: d / 'good.pth', 'model.backbone.patch_size=0'),
        'error: model.backbone: patch_size',
    ),
    (
        'demo-missing-image',
        image_demo(lambda d: d / 'no.png'),
        re.compile(r'error: image .*no\.png does not exist; give an image file'),
    ),
    (
        'demo-not-an-image',
        image_demo(lambda d: d / 'not_an_image.png'),
        re.compile(r'error: image .*not_an_image\.png is not an image that cv2 can decode'),
    ),
    (
        'demo-checkpoint-directory',
        image_demo(lambda d: d / 'digit.png', lambda d: d / 'checkpoints'),
        'is a directory',
    ),
    (
        'flops-shape-zero',
        lambda d, w, data: [FLOPS, DEMO, '--shape', '0', '0'],
        'error: --shape 0 0: the input sizes must be positive',
    ),
    (
        'flops-shape-global',
        lambda d, w, data: [FLOPS, DEMO, '--shape', '10', '10'],
        'error: --shape 10 10: MlpMixer was built for 32x32 inputs (a 8x8 token grid) but got 10x10: resize the '
        "input to 32x32, or build the backbone with token_mixing='window' to accept any size.",
    ),
    (
        'flops-backbone',
        lambda d, w, data: [FLOPS, DEMO, '--cfg-options', 'model.backbone.patch_size=-1'],
        'error: model.backbone: patch_size=-1 must be at least 1',
    ),
    (
        'front-door',
        lambda d, w, data: [
            'mmmixer',
            'train',
            DEMO,
            '--work-dir',
            w,
            '--cfg-options',
            *data,
            'model.backbone.arch=zz',
        ],
        "error: model.backbone: arch='zz' is unknown",
    ),
    (
        'convert-truncated',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'truncated.pth', w.parent / 'out.pth'],
        re.compile(r'^timm_to_mmmixer\.py: error: .*truncated\.pth is not a readable checkpoint'),
    ),
    (
        'convert-extension',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'metrics.json', w.parent / 'out.pth'],
        "metrics.json: unknown extension '.json'",
    ),
    (
        'convert-not-a-checkpoint',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'json.pth', w.parent / 'out.pth'],
        'json.pth is not a PyTorch checkpoint: it looks like JSON text',
    ),
    (
        'convert-unsafe',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'evil.pth', w.parent / 'out.pth'],
        re.compile(r'error: refusing to load .*evil\.pth: its pickle names the global posix\.system'),
    ),
    (
        'convert-not-a-mixer',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'good.pth', w.parent / 'out.pth'],
        'timm_to_mmmixer.py: error: not an MLP-Mixer checkpoint: missing keys',
    ),
    (
        'convert-existing-destination',  # left as it was (the test checks its bytes)
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'good.pth', d / 'existing.pth'],
        re.compile(
            r'^timm_to_mmmixer\.py: error: .*existing\.pth exists; '
            r'pass --force to overwrite it, or choose another name$'
        ),
    ),
    (
        'convert-output-folder',
        lambda d, w, data: [TIMM_TO_MMMIXER, '--no-progress', d / 'good.pth', w / 'missing' / 'out.pth'],
        'does not exist',
    ),
]


def run_tool(argv: list) -> subprocess.CompletedProcess:
    argv = [str(arg) for arg in argv]
    command = [sys.executable, '-m', 'mmmixer', *argv[1:]] if argv[0] == 'mmmixer' else [sys.executable, *argv]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob('*')}


@pytest.mark.slow
@pytest.mark.parametrize(('row', 'command', 'expected'), ROWS, ids=[row for row, _, _ in ROWS])
def test_bad_input_is_one_line_and_exit_2(inputs, digits_dir, tmp_path, row, command, expected):
    work_dir = tmp_path / 'work'
    before = files_under(inputs)
    result = run_tool(command(inputs, work_dir, data_options(digits_dir)))
    stderr_lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert len(stderr_lines) == 1, result.stderr
    line = stderr_lines[0]
    if isinstance(expected, re.Pattern):
        assert expected.search(line), line
    else:
        assert expected in line, line
    assert 'Traceback' not in result.stdout + result.stderr
    assert not any(tmp_path.iterdir()), sorted(files_under(tmp_path))  # nothing written: no work dir, no output
    assert files_under(inputs) == before and (inputs / 'existing.pth').read_bytes() == b'keep me'
    assert not (inputs / 'pwned').exists()


def test_every_row_is_in_the_table_of_docs_errors_md():
    table = (REPO / 'docs' / 'errors.md').read_text()
    for row, _, _ in ROWS:
        assert f'`{row}`' in table, f'docs/errors.md has no row for {row}'


# ----------------------------------------------------------------------------- the library side of it
def test_the_backbone_checks_its_arguments_when_built():
    from mmmixer.models import MlpMixer

    tiny = dict(arch=dict(embed_dims=8, num_layers=2, tokens_mlp_dims=4, channels_mlp_dims=16), img_size=16)
    for bad, message in [
        (dict(img_size=-5), 'img_size=-5 must be at least 1'),
        (dict(img_size=(16, 0)), 'img_size=0 must be at least 1'),
        (dict(patch_size=0), 'patch_size=0 must be at least 1'),
        (dict(patch_cfg=dict(stride=0)), 'patch stride=0 must be at least 1'),
        (dict(patch_cfg=dict(padding=-1)), 'patch padding=-1 must be at least 0'),
        (dict(drop_rate=1.0), 'drop_rate=1.0 is not a dropout probability'),
        (dict(frozen_stages=-2), 'frozen_stages=-2'),
        (dict(arch=dict(embed_dims=8, num_layers=0, tokens_mlp_dims=4, channels_mlp_dims=16)), 'arch.num_layers=0'),
        (dict(patch_size=16, patch_cfg=dict(padding=0, kernel_size=32)), 'gives no tokens'),
    ]:
        with pytest.raises(ConfigValueError, match=re.escape(message)):
            MlpMixer(**{**tiny, **bad})
    with pytest.raises(ConfigTypeError):
        MlpMixer(**{**tiny, 'img_size': '16'})
    with pytest.raises(TypeError):  # still a TypeError for callers that catch that
        MlpMixer(**{**tiny, 'arch': 5})
    with pytest.raises(ValueError):  # and a ValueError
        MlpMixer(**{**tiny, 'arch': 'zz'})


def test_the_size_error_of_a_global_mixer_is_its_own_type():
    from mmmixer.models import MlpMixer

    model = MlpMixer(arch=dict(embed_dims=8, num_layers=1, tokens_mlp_dims=4, channels_mlp_dims=16), img_size=16)
    with pytest.raises(InputSizeError, match="token_mixing='window'"):
        model(torch.zeros(1, 3, 24, 24))


def test_the_neck_checks_its_arguments_when_built():
    from mmmixer.models import MixerPyramidNeck

    for bad, message in [
        (dict(in_channels=30, scale_factors=(4.0,)), 'divisible by 4'),
        (dict(in_channels=32, scale_factors=(3.0,)), 'scale factor 3.0 is not supported'),
        (dict(in_channels=0), 'in_channels=0 must be a positive int'),
        (dict(in_channels=32, num_extra_levels=-1), 'num_extra_levels=-1'),
    ]:
        with pytest.raises(ConfigValueError, match=re.escape(message)):
            MixerPyramidNeck(**bad)


def test_config_checks_name_the_config_key_of_the_part_that_refused():
    from mmengine.config import Config

    from mmmixer.config.checks import check_config_values

    neck = dict(type='mmmixer.MixerPyramidNeck', in_channels=30, scale_factors=(4.0, 1.0))
    cfg = Config(dict(model=dict(type='ImageClassifier', backbone=dict(type='mmmixer.MlpMixer', arch='s'), neck=neck)))
    with pytest.raises(ConfigValueError, match=r'^model\.neck: in_channels=30 cannot be split'):
        check_config_values(cfg)  # library code raises; only the command lines print and exit
    cfg.model.neck.in_channels = 32
    check_config_values(cfg)  # an S/16 Mixer and a valid neck, built on the meta device: accepted


def test_one_line_takes_our_message_out_of_a_dataloader_workers_traceback():
    wrapped = BrokenImageError(
        'Caught BrokenImageError in DataLoader worker process 1.\nOriginal Traceback (most recent call last):\n'
        '  File "x.py", line 1, in <module>\nmmmixer.errors.BrokenImageError: broken image in train: a.png is empty'
    )
    assert one_line(wrapped) == 'broken image in train: a.png is empty'
    assert one_line(BrokenImageError('plain message')) == 'plain message'
