"""The errors mmmixer raises for bad input, which its command lines turn into one line and exit code 2.

Library code raises these and never exits; only :mod:`mmmixer.cli` reports them (``error: ...``). Every one is an
:class:`InputError`: its message is one line that names the problem and the fix. The command lines catch
``InputError`` and nothing broader, so an error nobody anticipated keeps its traceback.

* :class:`InputError`: bad input of any other kind (a config file that does not parse, a data set that is not on
  disk, a checkpoint path that names a directory).

* :class:`ConfigValueError`: a constructor of ours (backbone, neck, their layers, our transforms)
  rejects an argument. Raised when the model is built, so that a bad ``img_size`` or ``patch_size``
  fails before any data is read. A ``ValueError``, so ``except ValueError`` keeps working.
* :class:`ConfigNotFoundError`: a config or ``_base_`` file that is missing (also a ``FileNotFoundError``).
* :class:`InputSizeError`: an input that the model cannot take (a global-mixing Mixer fed another
  size than it was built for).
* :class:`BrokenImageError`: an image file of a data set that is missing or cannot be decoded.
* :class:`OutputExistsError` / :class:`OutputPathError`: an output path named on a command line that holds a file
  already (``--force`` overwrites it) or cannot be written (a folder, a missing or read-only folder).
* :class:`CheckpointSaveError`: a checkpoint that could not be written (full disk, I/O error); the message names the
  latest intact checkpoint and the ``--resume`` command that continues from it.
"""

from __future__ import annotations

WORKER_PREFIX = 'Caught '  # how torch's DataLoader starts the message of an error re-raised from a worker


class InputError(Exception):
    """Bad input the user can fix; the message is one line naming the problem and the fix."""


class ConfigValueError(InputError, ValueError):
    """A constructor argument (a config value) that our modules and transforms reject; the message says
    what is wrong and how to fix it."""


class ConfigTypeError(ConfigValueError, TypeError):
    """A constructor argument of the wrong type (still a ``TypeError`` for callers that catch that)."""


class ConfigNotFoundError(InputError, FileNotFoundError):
    """A config (or one of its ``_base_`` files) that is not where it was looked for; the message names where it
    looked and the closest names among mmmixer's configs."""


class InputSizeError(InputError, ValueError):
    """An input whose size the model was not built for; the message names the size that works."""


class BrokenImageError(InputError, OSError):
    """An image of a data set that is missing or cannot be decoded.

    Takes one message, as torch's DataLoader needs to re-raise it in the main process; there the
    message is wrapped in the worker's traceback, and :func:`one_line` gets ours back out of it.
    """


class OutputPathError(InputError, OSError):
    """An output path the user named that cannot be written: a folder, or in a folder that is missing or read-only."""


class OutputExistsError(OutputPathError, FileExistsError):
    """An output the user named exists already; it is overwritten only with ``--force``."""


class CheckpointSaveError(InputError):
    """A checkpoint that could not be written whole (no space left, an I/O error); nothing was left under its name,
    and the message names the latest intact checkpoint and how to resume from it."""


def one_line(error: BaseException) -> str:
    """The message of one of our errors, also when a DataLoader worker re-raised it inside a traceback."""
    message = str(error)
    if not message.startswith(WORKER_PREFIX):
        return message
    # "Caught BrokenImageError in DataLoader worker process 0.\nOriginal Traceback ...\n<module>.Name: message"
    marker = f'{type(error).__name__}: '
    last = message.rstrip().splitlines()[-1]
    return last.split(marker, 1)[1] if marker in last else last
