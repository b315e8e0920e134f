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
not: :func:`mmmixer.patches.register_when_mmpretrain_is_imported` registers at once when ``mmpretrain.apis.model``
has been imported already, and otherwise when it is first imported (an import hook that only watches for that name).
Checkpoints, from a path or the metafile's URL, load through mmengine's loader, which ``import mmmixer`` has
made safe (:mod:`mmmixer.checkpoint`).
"""

from __future__ import annotations

import os.path as osp
import threading

from mmmixer.config.find import configs_dir

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
