"""Every change that ``import mmmixer`` makes to other packages' state, in one place (:func:`apply_patches`).

Each patch says what it replaces and why; :func:`describe_patches` lists them (``mmmixer env`` prints it). A later
import-time patch belongs here too, and nowhere else.

1. **Safe checkpoint loading** (:func:`install_safe_loaders`). mmengine 0.10 loads checkpoints with plain
   ``torch.load`` or ``torch.hub.load_state_dict_from_url(..., weights_only=False)``, so a downloaded pickle could
   run any code. Every one of its checkpoint schemes (local files, ``http(s)://``, ``torchvision://``,
   ``open-mmlab://``, ``mmcls://``, ``pavi://``, ``s3://``) is registered again (``force=True``) with a loader that
   fetches the file as mmengine does and loads it with torch's ``weights_only`` unpickler and our allow-list,
   active only during that load (:mod:`mmmixer.checkpoint`). This covers ``load_from``, ``--resume``,
   ``init_cfg=dict(type='Pretrained')`` and mmpretrain's/mmdet's own tools run with mmmixer imported.
2. **mmmixer's models in mmpretrain's model zoo** (:func:`register_when_mmpretrain_is_imported`). mmpretrain's hub
   (``mmpretrain.apis.model.ModelHub``) reads only its own metafiles. Importing ``mmpretrain.apis`` is slow, so it is
   not imported here: a ``sys.meta_path`` finder waits for that module's first import, lets it run, adds our
   metafile's models to it (:func:`mmmixer.hub.register_with_mmpretrain`) and removes itself.
3. **Old module paths** (:func:`alias_deprecated_modules`): modules that were renamed stay importable under their
   old names for one release, with a ``DeprecationWarning`` (:data:`DEPRECATED_MODULES`).
4. **``mmmixer::NAME`` in a config's ``_base_``** (:func:`resolve_mmmixer_bases`). mmengine resolves ``pkg::path``
   only for a fixed map of OpenMMLab packages (``mmengine.config.utils.MODULE2PACKAGE``), only with a sub-folder in
   the path, and only from an installed package's ``.mim`` folder (an editable install has none). mmengine's
   ``Config._get_cfg_path`` (its resolver of every ``_base_`` entry) is wrapped so that ``mmmixer::NAME`` names
   one of mmmixer's configs wherever they are (:func:`mmmixer.config.find.base_config_path`), and a relative base
   that is missing is one line that says where it was looked for. Everything else goes to mmengine's own.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

HUB_MODULE = 'mmpretrain.apis.model'

# old name -> new name, under ``mmmixer.`` (written without it: these are names to alias lazily, not imports), or the
# new names a module was split into; kept for one release after the rename (0.4.0), then removed.
DEPRECATED_MODULES = {
    'runtime': 'engine',
    'runtime.runner': 'engine.runner',
    'runtime.fast_training': 'engine.fast_training',
    'runtime.dataloader_shutdown': 'engine.dataloader_shutdown',
    'datasets': 'broken_images',
    'datasets.images': 'broken_images.loader',
    'datasets.check': 'broken_images.scan',
    'datasets.report': 'broken_images.report',
    'compiled_ops': 'environment',
    'packaged_configs': 'config.find',
    'cli.config_checks': 'config.checks',
    'transforms.tf_augment': 'transforms.recipe_transforms',
    'transforms.tf_image_ops': ('transforms.pixel_ops', 'transforms.pixel_geometry'),
    'models.utils.token_mixing': 'models.utils.token_mixing_resize',
    'visualization.token_mixing': 'visualization.token_mixing_units',
}


# ----------------------------------------------------------------------------- 1. safe checkpoint loading
def install_safe_loaders() -> None:
    """Make every mmengine checkpoint scheme load through :func:`mmmixer.checkpoint.load_checkpoint_safely`."""
    from mmengine.runner import CheckpointLoader

    from mmmixer.checkpoint.schemes import SAFE_SCHEME_LOADERS

    for prefix, loader in SAFE_SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefix, loader=loader, force=True)
        _safe_schemes.add(prefix)


_safe_schemes: set[str] = set()  # the schemes this process has made safe


# ----------------------------------------------------------------------------- 2. the model zoo
class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``mmpretrain.apis.model`` is about to be imported, it wraps the real loader so
    that our models are registered as soon as that module has run, then steps out of ``sys.meta_path``."""

    def find_spec(self, fullname, path, target=None):
        if fullname != HUB_MODULE:
            return None
        _remove_hub_hook()
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
        register_quietly(module.ModelHub)

    def __getattr__(self, name):  # get_source, get_filename ... as the real loader answers them
        return getattr(self._loader, name)


_hub_hook = _RegisterAfterImport()


def _remove_hub_hook() -> None:
    while _hub_hook in sys.meta_path:
        sys.meta_path.remove(_hub_hook)


def register_quietly(model_hub) -> None:
    """Registration as a side effect of an import must not break that import (mmpretrain itself)."""
    from mmmixer.hub import register_with_mmpretrain

    try:
        register_with_mmpretrain(model_hub)
    except Exception as error:  # noqa: BLE001  (an install problem; the warning says which)
        warnings.warn(f"mmmixer's models are not in mmpretrain's model zoo: {error}", stacklevel=2)


def register_when_mmpretrain_is_imported() -> None:
    """Register now if mmpretrain's hub is imported already, else as soon as it is."""
    module = sys.modules.get(HUB_MODULE)
    if module is not None and hasattr(module, 'ModelHub'):
        register_quietly(module.ModelHub)
    elif _hub_hook not in sys.meta_path:
        sys.meta_path.insert(0, _hub_hook)


# ----------------------------------------------------------------------------- 3. old module paths
class _DeprecatedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module that replaced it (the same object), or as a module holding the
    public names of the modules it was split into, with a DeprecationWarning."""

    def find_spec(self, fullname, path, target=None):
        package, _, old = fullname.partition('.')
        if package != 'mmmixer' or old not in DEPRECATED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        replacement = DEPRECATED_MODULES[spec.name.partition('.')[2]]
        if isinstance(replacement, str):
            new = f'mmmixer.{replacement}'
            warnings.warn(f'{spec.name} is deprecated; import {new}', DeprecationWarning, stacklevel=2)
            return importlib.import_module(new)
        parts = [importlib.import_module(f'mmmixer.{name}') for name in replacement]
        names = ' or '.join(part.__name__ for part in parts)
        warnings.warn(f'{spec.name} is deprecated; import {names}', DeprecationWarning, stacklevel=2)
        merged = types.ModuleType(spec.name, f'Deprecated: the names of {names}.')
        for part in parts:
            merged.__dict__.update({k: v for k, v in vars(part).items() if not k.startswith('_')})
        return merged

    def exec_module(self, module):  # the new module has run already
        pass


_deprecated_finder = _DeprecatedModuleFinder()


def alias_deprecated_modules() -> None:
    if _deprecated_finder not in sys.meta_path:
        sys.meta_path.insert(0, _deprecated_finder)  # before the path finder: a stale folder must not win


# ----------------------------------------------------------------------------- 4. mmmixer:: bases
def resolve_mmmixer_bases() -> None:
    """Wrap mmengine's ``Config._get_cfg_path`` with :func:`mmmixer.config.find.base_config_path`."""
    from mmengine.config import Config

    mmengines_own = Config._get_cfg_path
    if getattr(mmengines_own, 'mmmixer_bases', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        from mmmixer.config.find import base_config_path

        return base_config_path(cfg_path, filename, mmengines_own)

    _get_cfg_path.mmmixer_bases = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)


def _bases_resolved() -> bool:
    from mmengine.config import Config

    return getattr(Config._get_cfg_path, 'mmmixer_bases', False)


# ----------------------------------------------------------------------------- all of them
def apply_patches() -> None:
    """What ``import mmmixer`` runs: the patches above, each idempotent."""
    install_safe_loaders()
    register_when_mmpretrain_is_imported()
    alias_deprecated_modules()
    resolve_mmmixer_bases()


def _scheme_names() -> list[str]:
    """The schemes made safe, as a user writes them (mmengine keys some by regex, and local files by '')."""
    return sorted(prefix.replace(r'(\S+\:)?', '') or 'local files' for prefix in _safe_schemes)


def describe_patches() -> list[str]:
    """One line per patch and whether it is in force in this process."""
    from mmmixer.checkpoint.schemes import SAFE_SCHEME_LOADERS

    hub = sys.modules.get(HUB_MODULE)
    if hub is not None:
        zoo = 'registered' if hub.ModelHub.has('mixer-b16_in1k') else 'NOT registered'
    else:
        zoo = 'registered when mmpretrain.apis is first imported' if _hub_hook in sys.meta_path else 'NOT installed'
    aliases = '' if _deprecated_finder in sys.meta_path else ' (NOT installed)'
    return [
        f'safe checkpoint loading: {len(_safe_schemes)} of {len(SAFE_SCHEME_LOADERS)} mmengine checkpoint schemes '
        f'({", ".join(_scheme_names())})',
        f"mmpretrain's model zoo: mmmixer's models {zoo}",
        f'old module names: {len(DEPRECATED_MODULES)} aliased with a DeprecationWarning{aliases}',
        "config _base_: mmmixer::NAME names mmmixer's configs" + ('' if _bases_resolved() else ' (NOT installed)'),
    ]
