"""A user's config on top of ours: ``_base_ = ['mmmixer::NAME']`` from any directory, one line for a base that is
missing or a config whose code raises, the closest names for a misspelt config; mmengine's own errors keep theirs."""

import pytest
from mmengine.config import Config

from mmmixer.config.find import config_names, find_config, own_config
from mmmixer.config.read import load_config, read_config
from mmmixer.errors import ConfigNotFoundError, InputError
from tests.helpers import REPO


def child(folder, text: str, name: str = 'mine.py') -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def inherits_the_same(tmp_path, name: str) -> None:
    mine = read_config(child(tmp_path, f"_base_ = ['mmmixer::{name}']\n"))
    ours = Config.fromfile(str(REPO / 'configs' / name), import_custom_modules=False)
    assert mine.to_dict() == ours.to_dict()


@pytest.mark.parametrize(
    'name',
    [
        'mixer-demo_digits.py',
        'detection/mask-rcnn_mixer-demo_pyramid_digits.py',  # its own ./_base_ and mmdet:: bases
        'segmentation/upernet_mixer-demo_pyramid_digits.py',
    ],
)
def test_a_shipped_config_is_inherited_by_name_from_another_directory(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    inherits_the_same(tmp_path, name)


@pytest.mark.slow  # every shipped config: about half a minute
def test_every_shipped_config_is_inherited_by_name_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in config_names():
        inherits_the_same(tmp_path, name)


def test_an_inherited_config_is_changed_like_a_local_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = "_base_ = ['mmmixer::mixer-demo_digits.py']\nmodel = dict(head=dict(num_classes=3))\n"
    cfg = load_config(child(tmp_path, text))
    assert cfg.model.head.num_classes == 3 and cfg.model.backbone.type == 'mmmixer.MlpMixer'
    assert '_scope_' not in cfg.model  # read as our own config, in its own default_scope
    nested = child(tmp_path, "_base_ = ['mine.py']\ntrain_cfg = dict(max_epochs=2)\n", 'nested.py')
    assert read_config(nested).model.head.num_classes == 3  # a base of a base resolves the same way


def test_a_relative_base_is_read_from_the_config_folder_and_a_missing_one_names_the_fix(tmp_path):
    mine = child(tmp_path, "_base_ = ['mixer-demo_digits.py']\n")
    with pytest.raises(ConfigNotFoundError) as error:
        read_config(mine)
    assert str(error.value) == (
        f"config {mine}: _base_ 'mixer-demo_digits.py' not found at {tmp_path / 'mixer-demo_digits.py'} (a relative "
        "_base_ is read from the folder of the config that names it); to inherit mmmixer's config of that name write "
        "'mmmixer::mixer-demo_digits.py'"
    )
    (tmp_path / 'mixer-demo_digits.py').write_text("_base_ = ['mmmixer::mixer-demo_digits.py']\nmarker = 1\n")
    assert read_config(mine).marker == 1  # a file of that name beside the config wins, as mmengine reads it


def test_a_misspelt_name_suggests_the_closest_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigNotFoundError, match=r"not one of mmmixer's configs .*closest of mmmixer's configs: mix"):
        read_config(child(tmp_path, "_base_ = ['mmmixer::mixer-demo_digts.py']\n"))
    with pytest.raises(FileNotFoundError, match=r'closest of mmmixer\'s configs: mixer-demo_digits.py'):
        find_config('mixer-demo_digit.py')  # every door that takes a config name says the same
    with pytest.raises(InputError, match=r'detection/retinanet_mixer-demo_pyramid_digits.py'):
        load_config('detection/retinanet_mixer-demo_pyramid_digit.py')


def test_an_exception_in_the_config_code_is_one_line_with_file_and_line(tmp_path):
    text = "_base_ = ['mmmixer::mixer-demo_digits.py']\nx = 1\nmodel = dict(backbone=dict(arch=undefined_name))\n"
    mine = child(tmp_path, text)
    with pytest.raises(InputError) as error:
        read_config(mine)
    assert str(error.value) == (
        f"config {mine}:3: NameError: name 'undefined_name' is not defined; fix the file (it is Python)"
    )
    with pytest.raises(InputError, match=r'bad_base\.py:1: ZeroDivisionError: division by zero'):
        bad_base = child(tmp_path, 'x = 1 / 0\n', 'bad_base.py')
        read_config(child(tmp_path, f"_base_ = ['{bad_base}']\n"))


def test_an_error_of_mmengine_itself_keeps_its_type_and_traceback(tmp_path):
    text = "_base_ = ['mmmixer::mixer-demo_digits.py']\nmodel = dict(backbone=dict(arch=dict(embed_dims=8)))\n"
    # arch is 's' in the base: mmengine refuses to merge a dict into it (its own message names _delete_)
    (tmp_path / 'base.py').write_text("model = dict(backbone=dict(arch='s'))\n")
    with pytest.raises(TypeError, match='_delete_') as error:
        read_config(child(tmp_path, text.replace('mmmixer::mixer-demo_digits.py', 'base.py')))
    assert not isinstance(error.value, InputError)


def test_own_configs_resolve_inside_the_checkout():
    assert own_config('mixer-demo_digits.py') == str(REPO / 'configs' / 'mixer-demo_digits.py')
    assert 'detection/retinanet_mixer-demo_pyramid_digits.py' in config_names()
    assert not any('_base_' in name for name in config_names())
