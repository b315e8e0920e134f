"""Read a config: by path or by name, with a file that does not parse reported as ``FILE:LINE: message``."""

from __future__ import annotations

import ast
import os.path as osp
import re

from mmengine.config import Config

from mmmixer.config.find import find_config
from mmmixer.errors import InputError


def syntax_error_line(error: SyntaxError, path: str) -> str:
    """``config FILE:LINE: message`` for a config that does not parse (mmengine wraps the parser's error in its own)."""
    text = str(error)
    # mmengine: "There are syntax errors in config file FILE: MESSAGE (<unknown>, line N)"
    wrapped = re.match(r'There are syntax errors in config file (.+?): (.*) \(.*?, line (\d+)\)$', text, re.S)
    if wrapped:
        file, message, line = wrapped.groups()
    else:
        if error.filename in (None, '', '<unknown>', '<string>'):  # mmengine parsed it without naming the file
            try:
                with open(path, encoding='utf-8') as f:
                    ast.parse(f.read(), path)
            except SyntaxError as own:  # the config itself: name it
                error = own
            else:  # one of its _base_ files
                error.filename = f'{path} (or one of its _base_ files)'
        file, message, line = error.filename or path, error.msg or text, error.lineno
    where = f'{file}:{line}' if line else file
    return f'config {where}: {message}; fix the file (it is Python)'


def config_code_line(error: BaseException) -> str | None:
    """``config FILE:LINE: NameError: ...`` when ``error`` was raised while a config file's own code ran (mmengine
    runs it with ``_base_`` among its globals), else None: an error of mmengine or of another library is not the
    config's and keeps its traceback."""
    where = None
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if '_base_' in frame.f_globals and frame.f_code.co_filename.endswith('.py'):
            where = f'{frame.f_code.co_filename}:{traceback.tb_lineno}'
        traceback = traceback.tb_next
    if where is None:
        return None
    message = (str(error).strip().splitlines() or [''])[0]
    return f'config {where}: {type(error).__name__}: {message}; fix the file (it is Python)'


def read_config(path: str) -> Config:
    """``Config.fromfile`` with the config's ``custom_imports`` deferred (see :mod:`mmmixer.config.prepare`).

    Raises :class:`~mmmixer.errors.InputError` for a syntax error in the file or its bases, an exception raised by
    their code (``NameError`` ...), a missing ``_base_`` file (:class:`~mmmixer.errors.ConfigNotFoundError`), and
    :class:`~mmmixer.environment.MissingCompiledOpsError` for a config that inherits ``mmseg::`` / ``mmdet::``
    configs where that package is not installed.
    """
    try:
        return Config.fromfile(path, import_custom_modules=False)
    except InputError:
        raise
    except SyntaxError as error:
        raise InputError(syntax_error_line(error, path)) from None
    except ModuleNotFoundError as error:
        from mmmixer.environment import missing_base_package

        missing = missing_base_package(error, osp.basename(path))
        if missing is None:
            raise
        raise missing from None
    except Exception as error:  # only one that the config's own code raised becomes a line; others re-raised
        line = config_code_line(error)
        if line is None:
            raise
        raise InputError(line) from None


def load_config(name: str) -> Config:
    """A config named by its path or by its name among mmmixer's configs (:func:`~mmmixer.config.find.find_config`),
    read by :func:`read_config`."""
    return read_config(find_config(name))
