"""A config's keys against the constructors that receive them: a misspelt, missing or mistyped key is one line
naming the config key and the closest names, before anything is built; shipped configs pass untouched."""

import importlib.util
import re
import warnings

import pytest

from mmmixer.config.checks import check_config_values, import_config_modules, warn_single_scale_pyramid
from mmmixer.config.find import config_names
from mmmixer.config.options import merge_options, parse_options
from mmmixer.config.read import load_config
from mmmixer.config.signatures import keywords_of
from mmmixer.engine.runner import TEST_DATALOADERS, TRAIN_DATALOADERS
from mmmixer.environment import has_compiled_ops
from mmmixer.errors import InputError

DEMO = 'mixer-demo_digits.py'
RETINANET = 'detection/retinanet_mixer-demo_pyramid_digits.py'
needs_mmdet = pytest.mark.skipif(
    importlib.util.find_spec('mmdet') is None or not has_compiled_ops(), reason='mmdet and mmcv ops (make setup-full)'
)


def checked(config: str, *options: str, dataloaders=TRAIN_DATALOADERS, edit=None) -> None:
    cfg = load_config(config)
    merge_options(cfg, parse_options(list(options)))
    if edit is not None:
        edit(cfg)
    import_config_modules(cfg)
    check_config_values(cfg, dataloaders)


# (options, the line): one per kind of part the Runner builds, ours and mmpretrain's / mmengine's / torch's.
TYPOS = [
    ('model.backbone.archh=b', "model.backbone: unknown argument 'archh'; did you mean 'arch'?"),
    ('model.head.num_clases=5', "model.head: unknown argument 'num_clases'; did you mean 'num_classes'?"),
    ('model.neck.dimm=1', "model.neck: unknown argument 'dimm'; did you mean 'dim'?"),
    ('optim_wrapper.optimizer.betass=[0.9,0.99]', "optim_wrapper.optimizer: unknown argument 'betass'; did you mean"),
    ('param_scheduler.0.start_factr=0.1', "param_scheduler.0: unknown argument 'start_factr'; did you mean 'start_f"),
    ('train_cfg.max_epoch=1', "train_cfg: unknown argument 'max_epoch'; did you mean 'max_epochs'?"),
    ('val_evaluator.top_k=1', "val_evaluator: unknown argument 'top_k'; did you mean 'topk'?"),
    ('train_dataloader.batchsize=3', "train_dataloader: unknown argument 'batchsize'; did you mean 'batch_size'?"),
    ('train_dataloader.sampler.shufle=False', "train_dataloader.sampler: unknown argument 'shufle'; did you mean"),
    ('train_dataloader.dataset.data_prefx=x', "train_dataloader.dataset: unknown argument 'data_prefx'; did you mean"),
    (
        'default_hooks.logger.intervall=3',
        "default_hooks.logger: unknown argument 'intervall'; did you mean 'interval'?",
    ),
    ('randomness.sed=1', "randomness: unknown argument 'sed'; did you mean 'seed'?"),
    ('env_cfg.cudnn_benchmak=True', "env_cfg: unknown key 'cudnn_benchmak'; did you mean 'cudnn_benchmark'?"),
    ('model.backbone.type=mmmixer.MlpMixr', "model.backbone: unknown type 'mmmixer.MlpMixr'; did you mean 'mmmixer.Ml"),
    ('default_hooks.logger.interval=x', "default_hooks.logger: interval='x' must be an int"),
    ('model.head.num_classes=[1]', 'model.head: num_classes=[1] must be an int'),
    ('train_dataloader.batch_size=0', 'train_dataloader: batch_size=0 must be a positive int'),
    ('optim_wrapper.clip_grad.max_norm=x', "optim_wrapper.clip_grad: max_norm='x' must be a number"),
    ('model.head.in_channels=32', 'model.head: in_channels=32 but the backbone gives 64 channels'),
    ('model.head.num_classes=0', 'model.head: LinearClsHead refused its arguments: num_classes=0 must be a positive'),
    ('default_hooks.logger.interval=-1', 'default_hooks.logger: LoggerHook refused its arguments: interval must be'),
    ('optim_wrapper.optimizer.weight_decay=-0.5', 'optim_wrapper.optimizer: AdamW refused its arguments: Invalid'),
    ('param_scheduler.0.by_epoch=0', 'param_scheduler.0: LinearLR refused its arguments: Only epoch-based'),
    ('train_dataloader.dataset.pipeline.1.crop_ratio_range=[]', 'train_dataloader.dataset.pipeline.1: RandomResizedC'),
    ('randomness.seed=-1', 'randomness: seed=-1 must be an int from 0 to 2**32 - 1'),
]


@pytest.mark.parametrize(('option', 'line'), TYPOS, ids=[option.split('=')[0] for option, _ in TYPOS])
def test_a_config_mistake_is_one_line_naming_the_key(option, line):
    with pytest.raises(InputError) as error:
        checked(DEMO, option)
    assert str(error.value).startswith(line) and '\n' not in str(error.value)


def test_a_missing_argument_or_section_is_named():
    def drop(*path):
        def edit(cfg):
            node = cfg
            for key in path[:-1]:
                node = node[key]
            node.pop(path[-1])

        return edit

    cases = [
        (
            drop('model', 'head', 'num_classes'),
            'model.head: LinearClsHead needs num_classes; add model.head.num_classes=',
        ),
        (drop('train_cfg'), 'train_cfg missing or None while train_dataloader is set: a run needs all of'),
        (drop('val_evaluator'), 'val_evaluator missing or None while val_dataloader is set'),
        (
            drop('train_dataloader', 'dataset', 'type'),
            'train_dataloader.dataset has no type; add train_dataloader.data',
        ),
        (drop('train_dataloader', 'dataset', 'pipeline'), 'train_dataloader.dataset.pipeline=None must be a list'),
        (drop('model', 'neck', 'dim'), "model: the backbone's output does not fit the neck and head"),
    ]
    for edit, line in cases:
        with pytest.raises(InputError, match=re.escape(line)):
            checked(DEMO, edit=edit)
    checked(DEMO, edit=lambda cfg: cfg.update(val_dataloader=None, val_cfg=None, val_evaluator=None))  # no validation


def test_a_model_too_large_for_this_machine_is_refused_before_it_is_allocated():
    with pytest.raises(InputError, match=r'model: [\d,]+ weights .* do not fit in this machine.*the largest part is'):
        checked(DEMO, 'model.backbone.arch.channels_mlp_dims=2000000000')


@needs_mmdet
def test_mmdet_parts_are_checked_too():
    with pytest.raises(InputError, match=r"^model.bbox_head: unknown argument 'num_clases'; did you mean 'num_cl"):
        checked(RETINANET, 'model.bbox_head.num_clases=3')


@pytest.mark.parametrize('config', [DEMO, 'mixer-b16_in1k.py'])
def test_the_shipped_classification_configs_pass(config):
    checked(config)
    checked(config, dataloaders=TEST_DATALOADERS)


@pytest.mark.slow  # every shipped config, detection and segmentation included: about half a minute
def test_every_shipped_config_passes_for_training_and_testing():
    for name in config_names():
        if 'model' not in load_config(name):
            continue  # a shared piece that other configs inherit
        if name.startswith(('detection/', 'segmentation/')) and not has_compiled_ops():
            continue
        checked(name)
        checked(name, dataloaders=TEST_DATALOADERS)


# ----------------------------------------------------------------------------- signatures
class Parent:
    def __init__(self, depth: int = 1, name: str = 'p'):
        pass


class ForwardsToParent(Parent):
    def __init__(self, width: int, **kwargs):
        super().__init__(**kwargs)


class KeepsKwargs(Parent):
    def __init__(self, width: int, **kwargs):
        super().__init__()
        self.extra = kwargs


def test_keywords_follow_kwargs_to_the_parent_class_only_where_they_go_there():
    forwarded = keywords_of(ForwardsToParent)
    assert forwarded.accepted == {'width', 'depth', 'name'} and forwarded.required == {'width'}
    assert not forwarded.takes_any and forwarded.types['depth'] == (int,)
    kept = keywords_of(KeepsKwargs)
    assert kept.takes_any and kept.required == {'width'}  # any other keyword is taken: none is reported unknown


def test_a_single_scale_mixer_feeding_fpn_warns_naming_the_pyramid_neck():
    from mmengine.registry import MODELS

    backbone = dict(type='mmmixer.MlpMixer', arch='s', out_indices=(0, 1, 2, 3))
    fpn = dict(type='FPN', in_channels=[512] * 4, out_channels=256, num_outs=5)
    with pytest.warns(UserWarning, match=r'model.neck: FPN takes 4 levels.*mmmixer.MixerPyramidNeck'):
        warn_single_scale_pyramid(dict(type='FasterRCNN', backbone=backbone, neck=fpn), MODELS)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        pyramid = dict(type='mmmixer.MixerPyramidNeck', in_channels=512)
        warn_single_scale_pyramid(dict(type='FasterRCNN', backbone=backbone, neck=[pyramid, fpn]), MODELS)
