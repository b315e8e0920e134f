"""The errors mmmixer raises for bad input, which its command lines turn into one line and exit code 2.

Library code raises these and never exits; only :mod:`mmmixer.cli` reports them (``error: ...``).

* :class:`ConfigValueError`: a constructor of ours (backbone, neck, their layers, our transforms)
  rejects an argument. Raised when the model is built, so that a bad ``img_size`` or ``patch_size``
  fails before any data is read. A ``ValueError``, so ``except ValueError`` keeps working.
* :class:`InputSizeError`: an input that the model cannot take (a global-mixing Mixer fed another
  size than it was built for).
* :class:`BrokenImageError`: an image file of a data set that is missing or cannot be decoded.
"""

from __future__ import annotations

WORKER_PREFIX = 'Caught '  # how torch's DataLoader starts the message of an error re-raised from a worker


class ConfigValueError(ValueError):
    """A constructor argument (a config value) that our modules and transforms reject; the message says
    what is wrong and how to fix it."""


class ConfigTypeError(ConfigValueError, TypeError):
    """A constructor argument of the wrong type (still a ``TypeError`` for callers that catch that)."""


class InputSizeError(ValueError):
    """An input whose size the model was not built for; the message names the size that works."""


class BrokenImageError(OSError):
    """An image of a data set that is missing or cannot be decoded.

    Takes one message, as torch's DataLoader needs to re-raise it in the main process; there the
    message is wrapped in the worker's traceback, and :func:`one_line` gets ours back out of it.
    """


def one_line(error: BaseException) -> str:
    """The message of one of our errors, also when a DataLoader worker re-raised it inside a traceback."""
    message = str(error)
    if not message.startswith(WORKER_PREFIX):
        return message
    # "Caught BrokenImageError in DataLoader worker process 0.\nOriginal Traceback ...\n<module>.Name: message"
    marker = f'{type(error).__name__}: '
    last = message.rstrip().splitlines()[-1]
    return last.split(marker, 1)[1] if marker in last else last
