"""Faults while a checkpoint is written: a full disk (ENOSPC), an I/O error (EIO) or a kill, at any byte of any
file a run saves (each checkpoint and its ``last_checkpoint`` note). Whatever the fault, every checkpoint on disk
loads whole, the previous one is intact, and ``--resume`` runs to the end; a disk error ends training with one
line that names the file, the bytes it needed, the latest intact checkpoint and the command that resumes from it.

The faults come from a file object that writes the first bytes of what it is given and then fails (or, for a kill,
copies the work dir as it is at that instant, which is what a SIGKILL would leave, and stops the run). On a machine
that lets us mount a 1 MB tmpfs, a real full disk is tried too (slow).
"""

from __future__ import annotations

import builtins
import errno
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.cli.train import main as train_main
from mmmixer.engine import checkpoint_saving
from tests.helpers import REPO, tiny_image_folder, tiny_training_options

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
EPOCHS = 3
SAVES = 2 * EPOCHS  # epoch_N.pth, then last_checkpoint, each epoch
FAULTS = {'ENOSPC': errno.ENOSPC, 'EIO': errno.EIO, 'kill': None}


class Killed(BaseException):
    """Stands for a SIGKILL: nothing of the run catches it or cleans up after it."""


class FailingFile:
    """A file opened for writing that writes ``fraction`` of the first bytes it is given, then fails."""

    def __init__(self, path: str, fraction: float, fail):
        self.file = builtins.open(path, 'wb')  # noqa: SIM115  (closed by __exit__, as a real file object is)
        self.fraction = fraction
        self.fail = fail

    def write(self, data: bytes) -> int:
        cut = int(self.fraction * len(data))
        self.file.write(data[:cut])
        self.file.flush()
        self.fail()
        return cut

    def __getattr__(self, name):  # flush, fileno, close
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def inject(monkeypatch: pytest.MonkeyPatch, work_dir: Path, save: int, fraction: float, fault: str) -> None:
    """Make the ``save``-th file written by the checkpoint saving (0-based) fail after ``fraction`` of its bytes."""
    calls = []

    def fail():
        if FAULTS[fault] is not None:
            raise OSError(FAULTS[fault], f'injected {fault}')
        shutil.copytree(work_dir, work_dir.with_name('at_the_kill'))  # the disk as a SIGKILL would leave it
        raise Killed

    def open_(path, mode='r', *args, **kwargs):
        calls.append(path)
        if len(calls) - 1 == save:
            return FailingFile(path, fraction, fail)
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoint_saving, 'open', open_, raising=False)


def train(capsys, *args) -> tuple[int, str, str]:
    try:
        train_main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_checkpoints_whole(work_dir: Path) -> list[Path]:
    """Every checkpoint under its own name loads, and ``last_checkpoint`` (if any) names one of them."""
    checkpoints = sorted(work_dir.glob('epoch_*.pth'))
    for path in checkpoints:
        assert load_checkpoint_safely(str(path), map_location='cpu')['meta']['epoch'] == int(path.stem[6:])
    note = work_dir / 'last_checkpoint'
    if note.exists():
        assert Path(note.read_text()).name in {path.name for path in checkpoints}
    return checkpoints


def check_fault(capsys, tmp_path: Path, save: int, fraction: float, fault: str) -> None:
    data = tiny_image_folder(tmp_path / 'data')
    work_dir = tmp_path / 'work'
    options = ['--no-validate', '--cfg-options', *tiny_training_options(data, EPOCHS)]
    epoch = save // 2 + 1  # the epoch whose checkpoint (even save) or note (odd save) failed
    with pytest.MonkeyPatch.context() as monkeypatch:
        inject(monkeypatch, work_dir, save, fraction, fault)
        if fault == 'kill':
            with pytest.raises(Killed):
                train(capsys, DEMO, '--work-dir', work_dir, *options)
        else:
            code, _, err = train(capsys, DEMO, '--work-dir', work_dir, *options)
    if fault == 'kill':
        shutil.rmtree(work_dir)
        (tmp_path / 'at_the_kill').rename(work_dir)
        resume = ['--resume']
    else:
        assert code == 2 and 'Traceback' not in err, err
        (line,) = [line for line in err.splitlines() if line.startswith('error:')]
        assert err.rstrip().endswith(line)
        failed = f'epoch_{epoch}.pth' if save % 2 == 0 else 'last_checkpoint'
        assert re.search(rf'cannot write \S*{failed} \(injected {fault}, \d+\.\d [kM]B needed\)', line), line
        assert not list(work_dir.rglob('.*.tmp-*')), 'a temporary file was left'
        assert list(work_dir.glob('*/*.log')), 'the run keeps its log'
        if epoch == 1 and save == 0:
            assert 'no intact checkpoint yet' in line
            assert not list(work_dir.glob('epoch_*.pth'))
            return
        intact = work_dir / f'epoch_{epoch - 1 if save % 2 == 0 else epoch}.pth'
        assert f'the latest intact checkpoint is {intact}' in line, line
        assert intact.is_file(), 'the checkpoint before the failed one is gone'
        # The run's own command line, resuming from that checkpoint.
        command = shlex.split(line.split('continue with `')[1].rstrip('`'))
        assert command == [
            'mmmixer',
            'train',
            str(DEMO),
            '--work-dir',
            str(work_dir),
            *options,
            '--resume',
            str(intact),
        ]
        resume = ['--resume', str(intact)]
    assert_checkpoints_whole(work_dir)
    code, out, err = train(capsys, DEMO, '--work-dir', work_dir, *options, *resume)
    assert code == 0, err[-2000:]
    # A checkpoint that the stopped run had not retired yet may stay beside the last one.
    assert f'epoch_{EPOCHS}.pth' in [path.name for path in assert_checkpoints_whole(work_dir)]


faults = dict(
    save=st.integers(0, SAVES - 1),
    fraction=st.floats(0, 1, exclude_max=True),
    fault=st.sampled_from(sorted(FAULTS)),
)


# capsys is read after every run, so one for all examples is right.
FIXTURES_SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=3, suppress_health_check=FIXTURES_SHARED)
@given(**faults)
def test_a_fault_while_saving_keeps_the_previous_checkpoint_and_resume_continues(
    capsys, tmp_path_factory, save, fraction, fault
):
    check_fault(capsys, tmp_path_factory.mktemp('fault'), save, fraction, fault)


@pytest.mark.slow
@settings(suppress_health_check=FIXTURES_SHARED)
@given(**faults)
def test_faults_deeper(capsys, tmp_path_factory, save, fraction, fault):
    """The same at the profile's number of examples (8 in 'ci', 300 in 'deep')."""
    check_fault(capsys, tmp_path_factory.mktemp('fault'), save, fraction, fault)


# ----------------------------------------------------------------------------- a real full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs, where the machine lets us mount one (root, a kernel that allows it); else skipped."""
    mount_point = tmp_path / 'disk'
    mount_point.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {mounted.stderr.decode().strip()}')
    yield mount_point
    subprocess.run(['umount', '--lazy', str(mount_point)], check=True)  # the run's log file may still be open


@pytest.mark.slow
def test_a_really_full_disk_ends_training_with_one_line_and_resume_continues(capsys, tmp_path, small_disk):
    data = tiny_image_folder(tmp_path / 'data')
    work_dir = small_disk / 'work'
    options = ['--no-validate', '--cfg-options', *tiny_training_options(data, EPOCHS)]
    # Room for the config, the log and one checkpoint with its temporary copy, not for a second one beside it.
    probe = tmp_path / 'probe'
    assert train(capsys, DEMO, '--work-dir', probe, *options)[0] == 0
    checkpoint_size = (probe / f'epoch_{EPOCHS}.pth').stat().st_size
    filler = small_disk / 'filler'
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b'\0' * (free - int(1.5 * checkpoint_size) - 64 * 1024))
    code, _, err = train(capsys, DEMO, '--work-dir', work_dir, *options)
    assert code == 2 and 'Traceback' not in err, err
    (line,) = [line for line in err.splitlines() if line.startswith('error:')]
    assert 'No space left on device' in line and 'B needed' in line and '--resume' in line, line
    assert_checkpoints_whole(work_dir)
    assert not list(work_dir.rglob('.*.tmp-*'))
    filler.unlink()  # the user frees space
    command = shlex.split(line.split('continue with `')[1].rstrip('`'))
    code, _, err = train(capsys, *command[2:])
    assert code == 0, err[-2000:]
    assert f'epoch_{EPOCHS}.pth' in [path.name for path in assert_checkpoints_whole(work_dir)]
