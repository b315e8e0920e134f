"""``--cfg-options``: mmengine's syntax, with the spaces inside a value kept; a malformed item or a key that cannot be
set is one line; ``--data-root`` points every dataloader at a folder (any path: spaces, non-ASCII)."""

import argparse

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmmixer.config.options import DictAction, OptionError, merge_options, parse_options
from tests.helpers import REPO, run_main

DEMO = str(REPO / 'configs' / 'mixer-demo_digits.py')
# Items without spaces, where mmengine's DictAction is the reference for what our parser must give.
SPACE_FREE = [
    'a=1', 'a=1.5', 'a=-3', 'a=true', 'a=False', 'a=None', 'a=text', 'a=[1,2,3]', 'a=(1,2)', 'a=[(1,2),[a,b],c]',
    'a=1,2', 'a="[x,y]"', "a='quoted'", 'a=[]', 'a=()', 'a=', 'a=b=c', 'a.b.c=[1,[2,(3,4)]]', 'a=/data/ziffern_ü',
]  # fmt: skip


def mmengines_reading(item: str):
    from mmengine.config import DictAction as MMEngineDictAction

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=MMEngineDictAction)
    return parser.parse_args(['--cfg-options', item]).cfg_options


@pytest.mark.parametrize('item', SPACE_FREE)
def test_without_spaces_values_read_as_mmengine_reads_them(item):
    assert parse_options([item]) == mmengines_reading(item)


def test_spaces_inside_a_value_are_kept_and_around_list_elements_dropped():
    path = '/data/my set/ziffern ü'
    assert parse_options([f'train_dataloader.dataset.data_root={path}']) == {'train_dataloader.dataset.data_root': path}
    assert parse_options([f'a="{path}"']) == {'a': path}
    assert parse_options(['a=[my file.png, b c]', 'b=( 1, 2 )']) == {'a': ['my file.png', 'b c'], 'b': (1, 2)}
    assert mmengines_reading(f'a={path}') == {'a': '/data/myset/ziffernü'}  # what mmengine alone would give


def test_a_malformed_item_names_it_and_the_form():
    for item, message in [
        ('model.backbone.arch', '--cfg-options model.backbone.arch: not KEY=VALUE; write each override as KEY=VALUE'),
        ('=5', '--cfg-options =5: not KEY=VALUE'),
        ('a=[1,2', '--cfg-options a=[1,2: unbalanced brackets'),
        ('a=(1,2]', '--cfg-options a=(1,2]: unbalanced brackets'),
    ]:
        with pytest.raises(OptionError) as error:
            parse_options([item])
        assert str(error.value).startswith(message)


def test_the_action_collects_items_from_repeated_flags():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'a=1', 'b=x y', '--cfg-options', 'c=[1]'])
    assert args.cfg_options == {'a': 1, 'b': 'x y', 'c': [1]}


def test_keys_that_cannot_be_set_are_refused_before_merging():
    cfg = Config(dict(model=dict(backbone=dict(arch='s')), schedulers=[dict(end=1)], data_root='data/digits'))
    for options, message in [
        ({'data_root': '/x y'}, '--cfg-options data_root=/x y would change nothing (the config used its data_root'),
        ({'model.backbone.arch.embed_dims': 8}, "model.backbone.arch is 's', not a dict; set it whole"),
        ({'schedulers.3.end': 2}, 'schedulers is a list of 1; index it with 0..0'),
    ]:
        with pytest.raises(OptionError, match=message.replace('(', r'\(').replace('.', r'\.')):
            merge_options(cfg, options)
    merge_options(cfg, {'schedulers.0.end': 2, 'model.neck.dim': 1})  # an index in range, a new key: merged
    assert cfg.schedulers[0].end == 2 and cfg.model.neck.dim == 1


@pytest.fixture
def folder_with_a_space(tmp_path):
    root = tmp_path / 'my set' / 'ziffern ü'
    for split in ('train', 'val'):
        for label in range(3):
            (root / split / str(label)).mkdir(parents=True)
            Image.fromarray(np.full((32, 32, 3), label * 80, np.uint8)).save(root / split / str(label) / 'a.png')
    return root


def test_check_data_reads_a_folder_with_spaces_and_umlauts_from_either_flag(folder_with_a_space):
    from mmmixer.cli.check_data import main

    code, output = run_main(main, DEMO, '--data-root', folder_with_a_space)
    assert code == 0 and 'all 3 images in train_dataloader decode' in output, output
    option = f'val_dataloader.dataset.data_root={folder_with_a_space}'
    code, output = run_main(main, DEMO, '--split', 'val', '--cfg-options', option)
    assert code == 0 and 'all 3 images in val_dataloader decode' in output, output


def test_data_root_in_cfg_options_is_refused_naming_the_flag(tmp_path):
    from mmmixer.cli.train import main

    code, output = run_main(main, DEMO, '--work-dir', tmp_path / 'w', '--cfg-options', f'data_root={tmp_path}')
    assert code == 2 and output.strip().splitlines() == [
        f'error: --cfg-options data_root={tmp_path} would change nothing (the config used its data_root when it was '
        f'read); use --data-root {tmp_path}, which sets the data_root of every dataloader'
    ]
    assert not (tmp_path / 'w').exists()


def test_data_root_sets_every_dataloader(tmp_path):
    from mmmixer.config.prepare import use_data_root
    from mmmixer.config.read import read_config

    cfg = read_config(DEMO)
    cfg.test_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=dict(cfg.test_dataloader.dataset))
    use_data_root(cfg, '/d e')
    roots = [cfg.train_dataloader.dataset.data_root, cfg.val_dataloader.dataset.data_root]
    assert roots == ['/d e', '/d e'] and cfg.test_dataloader.dataset.dataset.data_root == '/d e'
    assert cfg.train_dataloader.dataset.data_prefix == 'train'  # still relative to the new root
