"""Which model classifies, with which weights: a name of mmpretrain's model zoo (mmmixer's models among them) or a
classification config, and a checkpoint. Only configs are read here; nothing is built or loaded."""

from __future__ import annotations

from dataclasses import dataclass

from mmengine.config import Config

from mmmixer.config.checks import check_checkpoint_path
from mmmixer.config.read import load_config
from mmmixer.errors import InputError

DEFAULT_MODEL = 'mixer-b16_in1k'

# Configs of other tasks, by their default scope: what to use instead.
OTHER_TASKS = {
    'mmdet': (
        'detection',
        "mmdet's DetInferencer (import mmmixer; from mmdet.apis import DetInferencer; "
        "DetInferencer(CONFIG, CHECKPOINT)(IMAGE, out_dir='out'))",
    ),
    'mmseg': (
        'segmentation',
        "mmseg's MMSegInferencer (import mmmixer; from mmseg.apis import MMSegInferencer; "
        "MMSegInferencer(CONFIG, CHECKPOINT)(IMAGE, out_dir='out'))",
    ),
}


@dataclass(frozen=True)
class ModelChoice:
    """A classification model's config and the checkpoint to load into it.

    ``weights_from`` says where the checkpoint came from: ``'pretrained'`` (named by the user), ``'load_from'`` (the
    config's) or ``'hub'`` (the model's published weights); ``default`` is True when the user named no model.
    """

    name: str
    config: Config
    checkpoint: str
    weights_from: str
    default: bool = False


def choose_model(model: str | Config | None = None, pretrained: str | None = None) -> ModelChoice:
    """The model named by ``model`` (a zoo name, a config file or a ``Config``; None: :data:`DEFAULT_MODEL`) with the
    weights named by ``pretrained`` (a path or URL; None: the config's ``load_from`` or the model's published
    weights). Raises :class:`~mmmixer.errors.InputError` for an unknown name, a config of another task, a model
    without weights, and a local checkpoint that is missing or a directory."""
    pretrained = None if pretrained is None else str(pretrained)
    if isinstance(model, Config) or (isinstance(model, str) and model.endswith('.py')):
        return _config_choice(model, pretrained)
    return _zoo_choice(model or DEFAULT_MODEL, pretrained, default=model is None)


def _config_choice(model: str | Config, pretrained: str | None) -> ModelChoice:
    config = model if isinstance(model, Config) else load_config(model)
    name = model if isinstance(model, str) else (config.filename or 'the config')
    refuse_other_tasks(config, name)
    if pretrained is not None:
        check_checkpoint_path(pretrained, 'checkpoint')
        return ModelChoice(name, config, pretrained, 'pretrained')
    load_from = config.get('load_from')
    if not load_from:
        raise InputError(
            f'--model {name} is a config and has no load_from: pass --pretrained CHECKPOINT '
            '(weights trained with this config; without them its head would classify at random)'
        )
    check_checkpoint_path(load_from, "the config's load_from")
    return ModelChoice(name, config, load_from, 'load_from')


def _zoo_choice(name: str, pretrained: str | None, default: bool) -> ModelChoice:
    from mmpretrain.apis.model import ModelHub, list_models

    import mmmixer  # noqa: F401  (our models in mmpretrain's hub)
    from mmmixer.hub import closest_model_names

    if name.lower() not in list_models():
        close = closest_model_names(name)
        hint = f'closest names: {", ".join(close)}' if close else "list them with mmpretrain.list_models('*mixer*')"
        raise InputError(f'unknown model {name!r} ({hint}); or name a config file (.py)')
    entry = ModelHub.get(name)
    if pretrained is not None:
        check_checkpoint_path(pretrained, 'checkpoint')
        return ModelChoice(name, entry.config, pretrained, 'pretrained', default)
    if entry.weights is None:
        demo = ' (`make demo` writes work_dirs/demo/epoch_15.pth)' if name.lower() == 'mixer-demo_digits' else ''
        raise InputError(f'model {name} has no published weights: pass --pretrained CHECKPOINT{demo}')
    return ModelChoice(name, entry.config, entry.weights, 'hub', default)


def refuse_other_tasks(config: Config, name: str) -> None:
    """A detection or segmentation config (by its ``default_scope``): one line naming what to use instead."""
    scope = config.get('default_scope', 'mmpretrain')
    if scope in OTHER_TASKS:
        task, instead = OTHER_TASKS[scope]
        model = config.get('model', {}).get('type', '?')
        raise InputError(
            f'{name} is a {task} config (default_scope={scope!r}, model {model}): infer classifies images; '
            f'for {task} use {instead}'
        )


def loader_args(config: Config) -> dict:
    """How the config's test pipeline decodes images (its loader's ``color_type``, ``imdecode_backend`` ...)."""
    from mmmixer.broken_images.scan import loader_args as pipeline_loader_args

    loader = config.get('test_dataloader') or config.get('val_dataloader') or {}
    return pipeline_loader_args(loader.get('dataset', {}).get('pipeline'))
