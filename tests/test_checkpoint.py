"""Safe checkpoint loading: what the allow-list lets through and what it refuses."""

import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import mmmixer  # noqa: F401  (installs the safe loader)
from mmmixer.checkpoint import UnsafeCheckpointError, load_checkpoint_safely, publish_checkpoint


def test_runner_state_objects_load(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(1.5)
    state = {
        'message_hub': {'log_scalars': {'loss': buffer}, 'runtime_info': {'arr': np.arange(3), 'x': np.float64(2)}}
    }
    torch.save(state, tmp_path / 'c.pth')
    loaded = load_checkpoint_safely(tmp_path / 'c.pth')
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0, 1, 2]


class _GetattrEscape:
    """Reaches os.system through getattr on an allowed object: must be refused."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):
    torch.save({'x': _GetattrEscape()}, tmp_path / 'c.pth')
    with pytest.raises(UnsafeCheckpointError, match='refusing to load'):
        load_checkpoint_safely(tmp_path / 'c.pth')


class _Shell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('writer', ['torch.save', 'pickle.dump'])
def test_code_in_a_pickle_never_runs(tmp_path, writer):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    payload = {'state_dict': {}, 'meta': _Shell(marker)}
    if writer == 'torch.save':
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(UnsafeCheckpointError, match='allow-list'):
        load_checkpoint_safely(path)
    assert not marker.exists()


def test_truncated_and_missing_files(tmp_path):
    buffer = io.BytesIO()
    torch.save({'w': torch.ones(100)}, buffer)
    (tmp_path / 'cut.pth').write_bytes(buffer.getvalue()[:200])
    with pytest.raises(RuntimeError, match='truncated or corrupt'):
        load_checkpoint_safely(tmp_path / 'cut.pth')
    with pytest.raises(FileNotFoundError):
        load_checkpoint_safely(tmp_path / 'nope.pth')


def test_publish_refuses_a_file_without_state_dict(tmp_path):
    torch.save({'w': torch.ones(1)}, tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match='has no state_dict'):
        publish_checkpoint(tmp_path / 'plain.pth', tmp_path / 'out.pth')
    assert sorted(os.listdir(tmp_path)) == ['plain.pth']
