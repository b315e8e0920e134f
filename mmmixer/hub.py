"""mmmixer's models in mmpretrain's model zoo: after ``import mmmixer``, mmpretrain's own front doors know them.

::

    import mmmixer  # noqa: F401
    from mmpretrain import ImageClassificationInferencer, get_model, inference_model, list_models

    list_models('*mixer*')                      # ours (mixer-b16_in1k, ...) and mmpretrain's (mlp-mixer-...)
    model = get_model('mixer-b16_in1k', pretrained=True)   # the metafile's Weights, loaded safely
    ImageClassificationInferencer('mixer-demo_digits', pretrained='work_dirs/demo/epoch_15.pth')('digit.png')

The names, configs and weights are those of ``model-index.yml`` (which imports ``configs/metafile.yml``), read
from the checkout's root in a source tree or an editable install, and from ``mmmixer/.mim/`` (setup.py copies
them there, where mmpretrain keeps its own) in a wheel; config paths in the metafile are relative to that folder.

``import mmmixer`` must stay light, and mmpretrain's ``apis`` (every inferencer, transformers' hooks ...) is
not: :func:`register_when_mmpretrain_is_imported` registers at once when ``mmpretrain.apis.model`` has been
imported already, and otherwise when it is first imported (an import hook that only watches for that name).
Checkpoints, from a path or the metafile's URL, load through mmengine's loader, which ``import mmmixer`` has
made safe (:mod:`mmmixer.checkpoint`).
"""

from __future__ import annotations

import importlib.abc
import os.path as osp
import sys
import threading
import warnings

from mmmixer.packaged_configs import configs_dir

HUB_MODULE = 'mmpretrain.apis.model'

_lock = threading.Lock()
_registered_index: str | None = None


def model_index_path() -> str:
    """``model-index.yml`` beside the configs in use: the checkout's root, or ``mmmixer/.mim`` in a wheel."""
    return osp.join(osp.dirname(configs_dir()), 'model-index.yml')


def register_with_mmpretrain(model_hub=None) -> list[str]:
    """Add mmmixer's models to mmpretrain's ``ModelHub`` (once per process); return their names.

    ``model_hub`` is mmpretrain's ``ModelHub`` class (imported here when not given). Raises
    ``FileNotFoundError`` when the install lacks ``model-index.yml``.
    """
    global _registered_index
    if model_hub is None:
        from mmpretrain.apis.model import ModelHub as model_hub
    index = model_index_path()
    with _lock:
        if _registered_index is None:
            if not osp.isfile(index):
                raise FileNotFoundError(
                    f"mmmixer's model index {index} is missing, so mmpretrain's get_model/list_models cannot name "
                    "mmmixer's models: reinstall mmmixer (`pip install .` copies it into mmmixer/.mim)"
                )
            # Config paths in the metafile are relative to the model index's folder, as in mmpretrain's.
            model_hub.register_model_index(index, config_prefix=osp.dirname(index))
            _registered_index = index
    return registered_names()


def registered_names() -> list[str]:
    """mmmixer's model names as mmpretrain lists them (lower case), from the model index; [] before registration."""
    if _registered_index is None:
        return []
    from modelindex.load_model_index import load

    return sorted(model.name.lower() for model in load(_registered_index).models)


def closest_model_names(name: str, limit: int = 3) -> list[str]:
    """The names mmpretrain's hub knows (ours and its own) that look most like ``name``."""
    import difflib

    from mmpretrain.apis.model import list_models

    known = list_models()
    lowered = name.lower()
    close = difflib.get_close_matches(lowered, known, n=limit, cutoff=0.5)
    return close or sorted(known_name for known_name in known if lowered in known_name)[:limit]


# ----------------------------------------------------------------------------- lazy registration
class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``mmpretrain.apis.model`` is about to be imported, it wraps the real loader so
    that our models are registered as soon as that module has run, then steps out of ``sys.meta_path``."""

    def find_spec(self, fullname, path, target=None):
        if fullname != HUB_MODULE:
            return None
        _remove_hook()
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, 'find_spec') else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register_quietly(module.ModelHub)

    def __getattr__(self, name):  # get_source, get_filename ... as the real loader answers them
        return getattr(self._loader, name)


_hook = _RegisterAfterImport()


def _remove_hook() -> None:
    while _hook in sys.meta_path:
        sys.meta_path.remove(_hook)


def _register_quietly(model_hub) -> None:
    """Registration as a side effect of an import must not break that import (mmpretrain itself)."""
    try:
        register_with_mmpretrain(model_hub)
    except Exception as error:  # noqa: BLE001  (an install problem; the warning says which)
        warnings.warn(f"mmmixer's models are not in mmpretrain's model zoo: {error}", stacklevel=2)


def register_when_mmpretrain_is_imported() -> None:
    """Register now if mmpretrain's hub is imported already, else as soon as it is (``import mmmixer`` calls this)."""
    module = sys.modules.get(HUB_MODULE)
    if module is not None and hasattr(module, 'ModelHub'):
        _register_quietly(module.ModelHub)
    elif _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
