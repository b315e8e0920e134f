"""Whether mmcv's compiled ops (and mmseg) are installed, and a clear error where a config needs them.

``make setup`` installs mmcv without its compiled ops (``mmcv 2.1.0+lite``, seconds to build instead of
about 15-20 minutes) and without mmsegmentation. The backbone, the converters and the classification path
never use them; mmdet's detectors do (nms, RoIAlign: ``mmdet.models`` imports ``mmcv.ops`` as soon as it is
imported), and so do mmseg's models, which ``make setup-full`` installs with the ops.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os.path as osp
import warnings

from mmengine.config import Config

from mmmixer.errors import InputError

# Without the ops, importing mmcv.cnn.bricks.transformer (mmpretrain's models do) warns that
# MultiScaleDeformableAttention is missing and that one "should install mmcv rather than mmcv-lite".
MISSING_OPS_WARNING = 'Fail to import ``MultiScaleDeformableAttention``'


class MissingCompiledOpsError(InputError, RuntimeError):
    """A config builds mmdet/mmseg models and mmcv's compiled ops or that package are missing; the message says how
    to get them.

    The command lines print it as their one error line and exit with code 2.
    """


def has_compiled_ops() -> bool:
    """True when mmcv has its compiled extension (``mmcv._ext``, behind ``mmcv.ops``); found, not loaded."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except ImportError:  # no mmcv at all
        return False


# The dense-prediction packages whose models import mmcv's compiled ops: scope -> (distribution, pip extra).
DENSE_PACKAGES = {'mmdet': ('mmdet', 'det'), 'mmseg': ('mmsegmentation', 'seg')}


def dense_scopes(cfg: Config) -> list[str]:
    """The scopes of :data:`DENSE_PACKAGES` whose models ``cfg`` builds: by default scope, ``custom_imports`` or a
    scope-prefixed model type."""
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    model = cfg.get('model')
    model_type = str(model.get('type', '')) if isinstance(model, dict) else ''
    return [
        scope
        for scope in DENSE_PACKAGES
        if cfg.get('default_scope') == scope
        or any(name == scope or name.startswith(f'{scope}.') for name in imports)
        or model_type.startswith(f'{scope}.')
    ]


def config_needs_compiled_ops(cfg: Config) -> bool:
    """True for configs that build mmdet or mmseg models."""
    return bool(dense_scopes(cfg))


def check_compiled_ops(cfg: Config) -> None:
    """Raise :class:`MissingCompiledOpsError` when ``cfg`` builds mmdet/mmseg models and mmcv's compiled ops or that
    package are missing; without the ops, silence mmcv's import-time warning about them for the configs that do not
    use them (noise there)."""
    scopes = dense_scopes(cfg)
    if not scopes:
        if not has_compiled_ops():
            warnings.filterwarnings('ignore', message=MISSING_OPS_WARNING, category=UserWarning)
        return
    missing = [DENSE_PACKAGES[scope][0] for scope in scopes if importlib.util.find_spec(scope) is None]
    if has_compiled_ops() and not missing:
        return
    config_name = osp.basename(cfg.filename) if cfg.filename else 'this config'
    raise MissingCompiledOpsError(missing_message(config_name, scopes, missing))


def missing_message(config_name: str, scopes: list[str], missing: list[str]) -> str:
    """The one line for a config that builds ``scopes``' models where the ``missing`` distributions (and maybe
    mmcv's compiled ops) are not installed."""
    builds = f'{config_name} builds {" and ".join(scopes)} models'
    if has_compiled_ops():
        extras = ','.join(DENSE_PACKAGES[scope][1] for scope in scopes)
        return (
            f'{builds} and {", ".join(missing)} is not installed: run `make setup-full`, or pip install '
            f"'mmmixer[{extras}]', then run this command again."
        )
    try:
        mmcv_build = f'mmcv {importlib.metadata.version("mmcv")}'
    except importlib.metadata.PackageNotFoundError:
        mmcv_build = 'the installed mmcv'
    also = f' and installs {", ".join(missing)}' if missing else ''
    return (
        f"{builds}, which need mmcv's compiled ops (mmcv.ops), and {mmcv_build} has none: run `make setup-full` "
        f'once (it builds them{also}: about 15-20 minutes on 2 cores, then cached), then run this command again.'
    )


def missing_base_package(error: ModuleNotFoundError, config_name: str) -> MissingCompiledOpsError | None:
    """For mmengine's error when a config inherits ``mmdet::`` / ``mmseg::`` configs of a package that is not
    installed: the same one line as :func:`check_compiled_ops` gives; None for any other missing module."""
    for scope, (distribution, _) in DENSE_PACKAGES.items():
        if str(error).startswith(f'{distribution} is not installed'):
            return MissingCompiledOpsError(missing_message(config_name, [scope], [distribution]))
    return None
