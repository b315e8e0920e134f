"""Whether mmcv's compiled ops are installed, and a clear error where a config needs them.

``make setup`` installs mmcv without its compiled ops (``mmcv 2.1.0+lite``, seconds to build instead of
about 15-20 minutes). The backbone, the converters and the classification path never use them; mmdet's
detectors do (nms, RoIAlign), and ``mmdet.models`` imports ``mmcv.ops`` as soon as it is imported.
``make setup-full`` adds them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os.path as osp
import warnings

from mmengine.config import Config

# Without the ops, importing mmcv.cnn.bricks.transformer (mmpretrain's models do) warns that
# MultiScaleDeformableAttention is missing and that one "should install mmcv rather than mmcv-lite".
MISSING_OPS_WARNING = 'Fail to import ``MultiScaleDeformableAttention``'
SETUP_FULL_HINT = 'run `make setup-full` once (it builds them: about 15-20 minutes on 2 cores, then cached)'


class MissingCompiledOpsError(RuntimeError):
    """A config needs mmcv's compiled ops and the installed mmcv has none; the message says how to get them.

    The command lines print it as their one error line and exit with code 2.
    """


def has_compiled_ops() -> bool:
    """True when mmcv has its compiled extension (``mmcv._ext``, behind ``mmcv.ops``); found, not loaded."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except ImportError:  # no mmcv at all
        return False


def config_needs_compiled_ops(cfg: Config) -> bool:
    """True for configs that build mmdet models: mmdet's scope, imports or ``mmdet.``-prefixed model type."""
    if cfg.get('default_scope') == 'mmdet':
        return True
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if any(name == 'mmdet' or name.startswith('mmdet.') for name in imports):
        return True
    model = cfg.get('model')
    return isinstance(model, dict) and str(model.get('type', '')).startswith('mmdet.')


def check_compiled_ops(cfg: Config) -> None:
    """Without mmcv's compiled ops: raise :class:`MissingCompiledOpsError` when ``cfg`` needs them;
    otherwise silence mmcv's import-time warning about them, which is noise for a config that does not use them."""
    if has_compiled_ops():
        return
    if not config_needs_compiled_ops(cfg):
        warnings.filterwarnings('ignore', message=MISSING_OPS_WARNING, category=UserWarning)
        return
    try:
        mmcv_build = f'mmcv {importlib.metadata.version("mmcv")}'
    except importlib.metadata.PackageNotFoundError:
        mmcv_build = 'the installed mmcv'
    config_name = osp.basename(cfg.filename) if cfg.filename else 'this config'
    raise MissingCompiledOpsError(
        f"{config_name} builds mmdet models, which need mmcv's compiled ops (nms, RoIAlign), and "
        f'{mmcv_build} has none: {SETUP_FULL_HINT}, then run this command again.'
    )
