"""Safe checkpoint loading on every scheme mmengine registers, against a real server on 127.0.0.1."""

import io
import os
import re
import sys
import types

import pytest
import torch
from mmengine.runner import CheckpointLoader

import mmmixer  # noqa: F401  (installs the safe loaders)
from mmmixer.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
)
from tests.helpers import REPO, ShellPayload, runner_like_checkpoint, serve_directory

# os.system pickles under its real module: posix.system here, nt.system on Windows.
NAMES_THE_SHELL = r'names the global (posix|nt|os)\.system, which is not on the safe allow-list'


# ----------------------------------------------------------------------------- every scheme, a real server
def test_every_scheme_mmengine_registers_loads_safely():
    # mmengine's own table: a scheme added there (or by an upgrade) without a safe loader fails here.
    unsafe = {prefix: loader.__module__ for prefix, loader in CheckpointLoader._schemes.items()}
    assert all(module == 'mmmixer.checkpoint.schemes' for module in unsafe.values()), unsafe
    for prefix in ('', 'http://', 'https://', 'torchvision://', 'open-mmlab://', 'openmmlab://', 'mmcls://', 'pavi://'):
        assert prefix in CheckpointLoader._schemes


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 with a malicious and a good checkpoint; torch.hub's cache in tmp_path."""
    files, marker = tmp_path / 'served', tmp_path / 'pwned'
    files.mkdir()
    torch.save({'state_dict': {'weight': torch.zeros(4)}, 'meta': ShellPayload(marker)}, files / 'evil.pth')
    torch.save(runner_like_checkpoint(), files / 'good.pth')
    hub_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    monkeypatch.setenv('no_proxy', '127.0.0.1')
    with serve_directory(files) as url:
        yield types.SimpleNamespace(url=url, files=files, marker=marker, cache=tmp_path / 'hub' / 'checkpoints')
    torch.hub.set_dir(hub_dir)


def _mmengine_load(name: str):
    from mmengine.runner.checkpoint import _load_checkpoint

    return _load_checkpoint(name, map_location='cpu')


def _holder(init_cfg=None):
    """A module with one parameter named like the served checkpoints' tensor."""
    from mmengine.model import BaseModel

    class Holder(BaseModel):
        def __init__(self):
            super().__init__(init_cfg=init_cfg)
            self.weight = torch.nn.Parameter(torch.ones(4))

        def forward(self, *args, **kwargs):
            return {}

    return Holder()


def _loaded_weight(model) -> dict:
    return {'state_dict': {'weight': model.weight.detach()}}


def _load_into_model(name: str):
    from mmengine.runner import load_checkpoint

    model = _holder()
    load_checkpoint(model, name, map_location='cpu')
    return _loaded_weight(model)


def _pretrained_init(name: str):
    model = _holder(init_cfg=dict(type='Pretrained', checkpoint=name))
    model.init_weights()
    return _loaded_weight(model)


def _runner_load_from(name: str, work_dir: str):
    from mmengine.runner import Runner

    runner = Runner(model=_holder(), work_dir=work_dir, load_from=name)
    runner.load_or_resume()
    return _loaded_weight(runner.model)


ENTRY_POINTS = {
    'mmengine _load_checkpoint': _mmengine_load,
    'mmengine load_checkpoint': _load_into_model,
    "init_cfg=dict(type='Pretrained')": _pretrained_init,
}


def _names(url: str, file: str, monkeypatch) -> dict[str, str]:
    """The same served file under each scheme; name-to-URL tables point at the local server."""
    import mmengine.runner.checkpoint as mmengine_checkpoint

    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models', lambda: {'tiny': f'{url}/{file}'})
    monkeypatch.setattr(mmengine_checkpoint, 'get_external_models', lambda: {'tiny_v2': f'{url}/{file}'})
    monkeypatch.setattr(mmengine_checkpoint, 'get_deprecated_model_names', lambda: {'tiny': 'tiny_v2'})
    return {
        'http': f'{url}/{file}',
        'torchvision': 'torchvision://tiny',
        'modelzoo': 'modelzoo://tiny',
        'open-mmlab (deprecated name)': 'open-mmlab://tiny',
        'openmmlab': 'openmmlab://tiny_v2',
    }


@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
@pytest.mark.parametrize('scheme', ['http', 'torchvision', 'modelzoo', 'open-mmlab (deprecated name)', 'openmmlab'])
def test_a_served_malicious_checkpoint_never_runs(served, monkeypatch, entry, scheme):
    name = _names(served.url, 'evil.pth', monkeypatch)[scheme]
    with pytest.raises(UnsafeCheckpointError, match=NAMES_THE_SHELL) as error:
        ENTRY_POINTS[entry](name)
    assert 'downloaded from http://127.0.0.1' in str(error.value)
    assert not served.marker.exists()
    assert (served.cache / 'evil.pth').is_file()  # downloaded into torch.hub's cache, as mmengine does


@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
def test_a_served_good_checkpoint_loads(served, monkeypatch, entry):
    name = _names(served.url, 'good.pth', monkeypatch)['torchvision']
    loaded = ENTRY_POINTS[entry](name)
    assert torch.equal(loaded['state_dict']['weight'], torch.arange(4.0))


def test_runner_load_from_a_url(served, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=NAMES_THE_SHELL):
        _runner_load_from(f'{served.url}/evil.pth', str(tmp_path / 'work'))
    assert not served.marker.exists()
    loaded = _runner_load_from(f'{served.url}/good.pth', str(tmp_path / 'work'))
    assert torch.equal(loaded['state_dict']['weight'], torch.arange(4.0))


def test_mmcls_scheme_keeps_the_backbone(served, monkeypatch):
    import mmengine.runner.checkpoint as mmengine_checkpoint

    torch.save({'state_dict': {'backbone.w': torch.ones(2), 'head.fc.w': torch.ones(1)}}, served.files / 'cls.pth')
    monkeypatch.setattr(
        mmengine_checkpoint,
        'get_mmcls_models',
        lambda: {'evil': f'{served.url}/evil.pth', 'cls': f'{served.url}/cls.pth'},
    )
    with pytest.raises(UnsafeCheckpointError, match=NAMES_THE_SHELL):
        _mmengine_load('mmcls://evil')
    assert not served.marker.exists()
    assert list(_mmengine_load('mmcls://cls')['state_dict']) == ['w']


def test_unknown_names_and_unreachable_urls_are_clear_errors(served, monkeypatch):
    _names(served.url, 'good.pth', monkeypatch)
    with pytest.raises(CheckpointError, match=r"torchvision://nope: no checkpoint is registered under 'nope'"):
        _mmengine_load('torchvision://nope')
    with pytest.raises(CheckpointError, match=r'cannot download http://127\.0\.0\.1:\d+/missing\.pth: HTTP Error 404'):
        _mmengine_load(f'{served.url}/missing.pth')
    assert not (served.cache / 'missing.pth').exists()


def test_object_storage_and_pavi_bytes_load_safely(tmp_path, monkeypatch):
    """s3:// / petrel:// and pavi:// need services we lack: fake their clients, keep our loading real."""
    import mmengine.fileio

    marker = tmp_path / 'pwned'
    evil = io.BytesIO()
    torch.save({'meta': ShellPayload(marker)}, evil)

    class Backend:
        def get(self, filename):
            return evil.getvalue()

    monkeypatch.setattr(mmengine.fileio, 'get_file_backend', lambda *args, **kwargs: Backend())
    for name in ('s3://bucket/evil.pth', 'petrel://bucket/evil.pth', 'cluster:s3://bucket/evil.pth'):
        with pytest.raises(UnsafeCheckpointError, match=NAMES_THE_SHELL):
            _mmengine_load(name)

    class Model:
        name = 'evil.pth'

        def download(self, path):
            with open(path, 'wb') as f:
                f.write(evil.getvalue())

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(UnsafeCheckpointError, match=NAMES_THE_SHELL):
        _mmengine_load('pavi://models/evil.pth')
    assert not marker.exists()


@pytest.mark.slow
def test_tools_test_py_refuses_a_served_checkpoint_in_one_line(served, tmp_path):
    """The command line a user runs: a URL as tools/test.py's checkpoint, exit code 2, one error line."""
    import subprocess

    from mmmixer.dataset_writers import prepare_digits

    prepare_digits(str(tmp_path / 'digits'))
    result = subprocess.run(
        [
            sys.executable, 'tools/test.py', 'configs/mixer-demo_digits.py', f'{served.url}/evil.pth',
            '--work-dir', str(tmp_path / 'work'),
            '--cfg-options', f'test_dataloader.dataset.data_root={tmp_path / "digits"}',
        ],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, 'TORCH_HOME': str(tmp_path / 'torch_home')},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert re.search(NAMES_THE_SHELL, errors[0]) and f'downloaded from {served.url}/evil.pth' in errors[0]
    assert not served.marker.exists()
