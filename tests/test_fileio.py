"""One atomic writer for every output: a failed write leaves the old file (or none) and no temporary file;
folders are written whole or not at all too."""

import json
from pathlib import Path

import pytest

from mmmixer.fileio import save_atomically, write_atomically, write_folder_once, write_json_atomically


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / 'report.json'
    out.write_text('old')

    def write_half_then_fail(tmp: str) -> None:
        with open(tmp, 'w') as f:
            f.write('{"half":')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        write_atomically(out, write_half_then_fail)
    assert out.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['report.json']


def test_json_that_cannot_be_encoded_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_json_atomically({'ok': 1, 'bad': object()}, tmp_path / 'm.json')
    assert not any(tmp_path.iterdir())
    write_json_atomically({'ok': 1}, tmp_path / 'm.json')
    assert json.loads((tmp_path / 'm.json').read_text()) == {'ok': 1}


def test_save_atomically_refuses_a_missing_folder_before_writing(tmp_path):
    with pytest.raises(FileNotFoundError, match='output folder .*missing does not exist; create it first'):
        save_atomically({'w': 1}, tmp_path / 'missing' / 'model.pth')
    assert not any(tmp_path.iterdir())


def write_two_files(folder: str) -> dict:
    (Path(folder) / 'a.txt').write_text('a')
    (Path(folder) / 'b.txt').write_text('b')
    return {'files': 2}


def test_a_failing_folder_write_leaves_no_folder_and_no_staging(tmp_path):
    def write_one_then_fail(folder: str) -> dict:
        (Path(folder) / 'a.txt').write_text('a')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        write_folder_once(str(tmp_path / 'out'), {'seed': 0}, 'made.json', 'test set', write_one_then_fail)
    assert not any(tmp_path.iterdir())


def test_a_folder_is_written_once_and_reused_only_with_the_same_settings(tmp_path):
    out = tmp_path / 'out'
    info = write_folder_once(str(out), {'seed': 0}, 'made.json', 'test set', write_two_files)
    assert info == {'seed': 0, 'files': 2} == json.loads((out / 'made.json').read_text())
    assert sorted(p.name for p in out.iterdir()) == ['a.txt', 'b.txt', 'made.json']

    def must_not_run(folder: str) -> dict:
        raise AssertionError('the folder was written again')

    assert write_folder_once(str(out), {'seed': 0}, 'made.json', 'test set', must_not_run) == info
    with pytest.raises(FileExistsError, match='holds a test set made with other settings'):
        write_folder_once(str(out), {'seed': 1}, 'made.json', 'test set', must_not_run)
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'mine.txt').write_text('keep')
    with pytest.raises(FileExistsError, match='not a test set written by this tool'):
        write_folder_once(str(other), {'seed': 0}, 'made.json', 'test set', must_not_run)
    assert [p.name for p in other.iterdir()] == ['mine.txt']
