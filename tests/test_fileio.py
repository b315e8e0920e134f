"""One atomic writer for every output: a failed write leaves the old file (or none) and no temporary file."""

import json

import pytest

from mmmixer.fileio import save_atomically, write_atomically, write_json_atomically


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
