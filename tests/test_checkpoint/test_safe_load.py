"""Safe checkpoint loading: what the allow-list lets through, what it refuses, on every path mmengine offers."""

import contextlib
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import mmmixer  # noqa: F401  (installs the safe loaders)
from mmmixer.checkpoint import (
    SAFE_GLOBAL_SUBSTITUTES,
    SAFE_GLOBALS,
    CheckpointError,
    UnsafeCheckpointError,
    allow_listed,
    load_checkpoint_safely,
    publish_checkpoint,
)
from tests.helpers import ShellPayload, runner_like_checkpoint

# os.system pickles under its real module: posix.system here, nt.system on Windows.
NAMES_THE_SHELL = r'names the global (posix|nt|os)\.system, which is not on the safe allow-list'


def test_runner_state_objects_load(tmp_path):
    torch.save(runner_like_checkpoint(), tmp_path / 'c.pth')
    loaded = load_checkpoint_safely(tmp_path / 'c.pth')
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0, 1, 2]


def test_runner_checkpoints_written_under_numpy_1_load(tmp_path):
    """numpy 1.x pickles arrays and scalars as numpy.core.multiarray.* (numpy 2: numpy._core.multiarray.*);
    apart from that module path, numpy 1.26's protocol-2 pickle of these objects is byte-identical."""
    buffer = io.BytesIO()
    torch.save(runner_like_checkpoint(), buffer, _use_new_zipfile_serialization=False)  # one plain pickle stream
    numpy_1 = buffer.getvalue().replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
    assert numpy_1.count(b'cnumpy.core.multiarray\n') >= 2  # _reconstruct and scalar
    (tmp_path / 'numpy1.pth').write_bytes(numpy_1)
    loaded = load_checkpoint_safely(tmp_path / 'numpy1.pth')
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0, 1, 2]
    assert loaded['message_hub']['runtime_info']['x'] == 2.0
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5


class _GetattrEscape:
    """Reaches beyond HistoryBuffer's statistics through getattr on an allowed object: must be refused."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):
    torch.save({'x': _GetattrEscape()}, tmp_path / 'c.pth')
    with pytest.raises(UnsafeCheckpointError, match=r"refusing to load .*getattr\(.*'__init__'\)"):
        load_checkpoint_safely(tmp_path / 'c.pth')


@pytest.mark.parametrize(
    ('writer', 'refusal'),
    [
        ('torch.save', NAMES_THE_SHELL),
        ('pickle protocol 2', NAMES_THE_SHELL),
        # torch's safe unpickler cannot read pickle.dump's framed protocols at all, so it never reaches the global.
        ('pickle protocol 4', r'refusing to load .*a plain Python pickle \(protocol 4\), not a torch.save checkpoint'),
        ('pickle protocol 5', r'refusing to load .*a plain Python pickle \(protocol 5\)'),
    ],
)
def test_code_in_a_pickle_never_runs(tmp_path, writer, refusal):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    payload = {'state_dict': {}, 'meta': ShellPayload(marker)}
    if writer == 'torch.save':
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(writer[-1])))
    with pytest.raises(CheckpointError, match=refusal) as error:
        load_checkpoint_safely(path)
    assert isinstance(error.value, UnsafeCheckpointError) == (refusal == NAMES_THE_SHELL)
    assert not marker.exists()


# ----------------------------------------------------------------------------- the allow-list stays in our loads
def ours_on_torchs_allow_list() -> set:
    return set(SAFE_GLOBALS + SAFE_GLOBAL_SUBSTITUTES) & set(torch.serialization.get_safe_globals())


def test_importing_mmmixer_leaves_torchs_allow_list_alone(tmp_path):
    """Third-party code that calls torch.load itself keeps torch's defaults after `import mmmixer`."""
    assert ours_on_torchs_allow_list() == set()
    torch.save(runner_like_checkpoint(), tmp_path / 'c.pth')
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(tmp_path / 'c.pth', weights_only=True)
    load_checkpoint_safely(tmp_path / 'c.pth')  # ours still loads it, and leaves nothing behind
    assert ours_on_torchs_allow_list() == set()


def test_our_loads_keep_what_the_user_allowed():
    before = set(torch.serialization.get_safe_globals())
    with torch.serialization.safe_globals([HistoryBuffer]):
        with allow_listed():
            assert ours_on_torchs_allow_list() == set(SAFE_GLOBALS + SAFE_GLOBAL_SUBSTITUTES)
        assert set(torch.serialization.get_safe_globals()) == before | {HistoryBuffer}
    assert set(torch.serialization.get_safe_globals()) == before


# ----------------------------------------------------------------------------- what a file is, said plainly
@pytest.mark.parametrize(
    ('content', 'looks_like'),
    [
        (b'{"state_dict": {"w": [1, 2]}}', 'JSON text'),
        (b'model:\n  type: ImageClassifier\n', 'YAML text'),
        (b'\xff\xd8\xff\xe0\x00\x10JFIF\x00', 'a JPEG image'),
        (b'these are not weights\n', 'text'),
        (b'', 'an empty file'),
        (b'\x93NUMPY\x01\x00v\x00', r'a single NumPy array \(\.npy\)'),
    ],
)
def test_a_file_that_is_no_checkpoint_is_named_as_such(tmp_path, content, looks_like):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f'model.pth is not a PyTorch checkpoint: it looks like {looks_like}$'):
        load_checkpoint_safely(path)


def test_an_npz_renamed_pth_is_named_as_such(tmp_path):
    np.savez(tmp_path / 'weights.npz', a=np.ones(2))
    os.replace(tmp_path / 'weights.npz', tmp_path / 'weights.pth')
    with pytest.raises(CheckpointError, match=r'looks like a NumPy \.npz archive'):
        load_checkpoint_safely(tmp_path / 'weights.pth')


def saved_bytes(obj, legacy: bool = False) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


def with_member_damaged(checkpoint: bytes, suffix: str, damage) -> bytes:
    """The zip checkpoint with the member whose name ends in ``suffix`` replaced by ``damage(its bytes)``."""
    source, out = zipfile.ZipFile(io.BytesIO(checkpoint)), io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as damaged:
        for name in source.namelist():
            data = source.read(name)
            damaged.writestr(name, damage(data) if name.endswith(suffix) else data)
    return out.getvalue()


DAMAGED_FILES = {
    'truncated': lambda: saved_bytes({'w': torch.ones(100)})[:200],
    'truncated legacy format': lambda: saved_bytes({'w': torch.ones(100)}, legacy=True)[:300],
    'zero bytes': lambda: b'',
    'zip with a short tensor member': lambda: with_member_damaged(
        saved_bytes({'w': torch.ones(100)}), 'data/0', lambda data: data[: len(data) // 2]
    ),
    'zip with a garbage pickle member': lambda: with_member_damaged(
        saved_bytes({'w': torch.ones(100)}), 'data.pkl', lambda data: data[:2] + b'}q\x00(X\x01\x00\x00\x00ah\x05'
    ),
}


@pytest.mark.parametrize('kind', DAMAGED_FILES)
def test_a_damaged_file_is_named_as_such_not_unsafe(tmp_path, kind):
    path = tmp_path / 'damaged.pth'
    path.write_bytes(DAMAGED_FILES[kind]())
    with pytest.raises(CheckpointError, match='truncated or corrupt|it looks like an empty file') as error:
        load_checkpoint_safely(path)
    assert not isinstance(error.value, UnsafeCheckpointError)
    assert str(path) in str(error.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        load_checkpoint_safely(tmp_path / 'nope.pth')


def test_a_bug_in_code_run_during_the_load_is_not_reported_as_a_damaged_file(tmp_path, monkeypatch):
    """Only what torch's reader raises means a damaged file; a KeyError or TypeError from our code (here, a
    broken allow-list) must surface as itself."""
    import mmmixer.checkpoint.safe_load as safe_load

    path = tmp_path / 'good.pth'
    path.write_bytes(saved_bytes({'w': torch.ones(2)}))

    @contextlib.contextmanager
    def broken_allow_list(extra_globals=()):
        raise KeyError('a bug of ours')
        yield

    monkeypatch.setattr(safe_load, 'allow_listed', broken_allow_list)
    with pytest.raises(KeyError, match='a bug of ours'):
        load_checkpoint_safely(path)


@pytest.mark.parametrize('tail', [b'hello world', b'\x00' * 40, b'}q\x00(X\x01\x00\x00\x00ah\x05'])
def test_a_damaged_pickle_is_corrupt_not_unsafe(tmp_path, tail):
    """Garbage after a pickle header (seen raising a raw KeyError from the unpickler's memo) is 'corrupt'."""
    path = tmp_path / 'damaged.pth'
    path.write_bytes(b'\x80\x02' + tail)
    with pytest.raises(CheckpointError, match='truncated or corrupt') as error:
        load_checkpoint_safely(path)
    assert not isinstance(error.value, UnsafeCheckpointError)


def test_publish_refuses_a_file_without_state_dict(tmp_path):
    torch.save({'w': torch.ones(1)}, tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match='has no state_dict'):
        publish_checkpoint(tmp_path / 'plain.pth', tmp_path / 'out.pth')
    assert sorted(os.listdir(tmp_path)) == ['plain.pth']
