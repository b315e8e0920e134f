"""mmmixer's models in mmpretrain's model zoo: after ``import mmmixer``, mmpretrain's ``get_model``,
``list_models``, ``inference_model`` and ``ImageClassificationInferencer`` know ``mixer-b16_in1k``,
``mixer-l16_in1k`` and ``mixer-demo_digits``; ``pretrained=True`` fetches the metafile's weights through mmengine's
loader, safely; and mmpretrain's own tools (from its installed wheel) run our demo config."""

import os.path as osp
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import mmmixer
from mmmixer.checkpoint import UnsafeCheckpointError
from mmmixer.config.find import configs_dir
from mmmixer.hub import closest_model_names, model_index_path, register_with_mmpretrain
from tests.helpers import REPO, ShellPayload, randomize_, run, serve_directory

OUR_MODELS = {
    'mixer-b16_in1k': 'mixer-b16_in1k.py',
    'mixer-demo_digits': 'mixer-demo_digits.py',
    'mixer-l16_in1k': 'mixer-l16_in1k.py',
}
# The URLs of mmpretrain's own metafile (configs/mlp_mixer/metafile.yml) for the same weights.
PUBLISHED = 'https://download.openmmlab.com/mmclassification/v0/mlp-mixer/'
WEIGHTS = {
    'mixer-b16_in1k': PUBLISHED + 'mixer-base-p16_3rdparty_64xb64_in1k_20211124-1377e3e0.pth',
    'mixer-l16_in1k': PUBLISHED + 'mixer-large-p16_3rdparty_64xb64_in1k_20211124-5a2519d2.pth',
}
DIGIT_CLASSES = [str(digit) for digit in range(10)]


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """Downloads go to a fresh torch hub folder, never the user's."""
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    return tmp_path / 'hub' / 'checkpoints'


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from an unrelated directory: names must not depend on the checkout being the working directory."""
    folder = tmp_path / 'elsewhere'
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_list_models_shows_ours_beside_mmpretrains_own():
    from mmpretrain import list_models

    names = list_models('*mixer*')
    assert set(OUR_MODELS) <= set(names)
    assert {'mlp-mixer-base-p16_3rdparty_64xb64_in1k', 'mlp-mixer-large-p16_3rdparty_64xb64_in1k'} <= set(names)
    assert list_models('mixer-') == sorted(OUR_MODELS)  # mmpretrain's are named mlp-mixer-*: no clash
    assert set(list_models('mixer-', task='Image Classification')) == set(OUR_MODELS)
    # Registering again (a second `import mmmixer` path, a reload) is a no-op, not mmpretrain's "conflict" error.
    assert register_with_mmpretrain() == sorted(OUR_MODELS)
    assert model_index_path() == str(REPO / 'model-index.yml')  # the checkout's, in a source tree


def test_names_resolve_to_our_configs_and_the_published_weights_from_any_directory(elsewhere):
    from mmpretrain.apis import ModelHub

    for name, config in OUR_MODELS.items():
        metainfo = ModelHub.get(name.upper())  # mmpretrain matches names case-insensitively
        assert metainfo.config.filename == osp.join(configs_dir(), config)
        assert metainfo.weights == WEIGHTS.get(name)
        assert [result.task for result in metainfo.results] == ['Image Classification']


def test_a_missing_model_index_warns_and_never_breaks_mmpretrains_import(tmp_path, monkeypatch):
    from mmpretrain.apis import ModelHub

    from mmmixer import hub, patches

    monkeypatch.setattr(hub, '_registered_index', None)
    monkeypatch.setattr(hub, 'configs_dir', lambda: str(tmp_path / 'configs'))
    with pytest.warns(UserWarning, match=r'not in mmpretrain.s model zoo: .*model-index.yml is missing.*reinstall'):
        patches.register_quietly(ModelHub)  # what the import hook runs right after mmpretrain.apis.model
    with pytest.raises(FileNotFoundError, match='reinstall mmmixer'):
        hub.register_with_mmpretrain()


def test_unknown_names_get_the_closest_known_ones():
    assert closest_model_names('mixer-b16')[0] == 'mixer-b16_in1k'
    assert 'mixer-demo_digits' in closest_model_names('mixer_demo_digits')


def save_demo_checkpoint(path: Path, classes=DIGIT_CLASSES) -> dict:
    """A demo model with random weights, saved as the Runner saves it (state_dict + meta.dataset_meta)."""
    from mmpretrain import get_model

    model = randomize_(get_model('mixer-demo_digits'), std=0.2)
    state_dict = {key: value.clone() for key, value in model.state_dict().items()}
    torch.save({'meta': {'dataset_meta': {'classes': classes}}, 'state_dict': state_dict}, path)
    return state_dict


def test_get_model_by_name_builds_our_backbone_and_loads_a_checkpoint(elsewhere, tmp_path):
    from mmpretrain import get_model

    model = get_model('mixer-demo_digits')
    assert type(model.backbone) is mmmixer.models.MlpMixer and model.head.num_classes == 10
    state_dict = save_demo_checkpoint(tmp_path / 'demo.pth')
    loaded = get_model('mixer-demo_digits', pretrained=str(tmp_path / 'demo.pth'))
    assert all(torch.equal(loaded.state_dict()[key], value) for key, value in state_dict.items())
    assert loaded._dataset_meta == {'classes': DIGIT_CLASSES}


def test_inferencer_by_name_classifies_real_digit_scans(elsewhere, tmp_path, digits_dir):
    from mmpretrain import ImageClassificationInferencer, inference_model

    save_demo_checkpoint(tmp_path / 'demo.pth')
    images = [str(path) for path in sorted((digits_dir / 'val').rglob('*.png'))[::40]]
    inferencer = ImageClassificationInferencer('mixer-demo_digits', pretrained=str(tmp_path / 'demo.pth'))
    assert inferencer.classes == DIGIT_CLASSES
    batched = inferencer(images, batch_size=4)
    assert len(batched) == len(images)
    for result in batched:
        assert result['pred_class'] == DIGIT_CLASSES[result['pred_label']]
        assert result['pred_label'] == int(np.argmax(result['pred_scores']))
        assert result['pred_scores'].shape == (10,) and abs(result['pred_scores'].sum() - 1) < 1e-4
    # Random weights, so the classes differ per image only by chance; one-by-one gives the same scores.
    single = inference_model('mixer-demo_digits', images[0], pretrained=str(tmp_path / 'demo.pth'))
    np.testing.assert_allclose(single['pred_scores'], batched[0]['pred_scores'], atol=1e-5)


def test_pretrained_weights_from_a_url_or_a_path_load_safely(tmp_path, hub_cache):
    from mmpretrain import get_model

    served = tmp_path / 'served'
    served.mkdir()
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'payload': ShellPayload(marker)}, served / 'evil.pth')
    save_demo_checkpoint(served / 'good.pth')
    with serve_directory(served) as url:
        with pytest.raises(UnsafeCheckpointError, match=r'os\.system|posix\.system'):
            get_model('mixer-demo_digits', pretrained=f'{url}/evil.pth')
        model = get_model('mixer-demo_digits', pretrained=f'{url}/good.pth')
    with pytest.raises(UnsafeCheckpointError):
        get_model('mixer-demo_digits', pretrained=str(served / 'evil.pth'))
    assert not marker.exists()  # nothing in the file ran
    assert (hub_cache / 'good.pth').is_file() and model._dataset_meta == {'classes': DIGIT_CLASSES}


def mmpretrain_format_checkpoint(path: Path, name: str) -> torch.nn.Module:
    """mmpretrain's own Mixer (its parameter names, its config), random weights, saved as its model zoo files are."""
    from mmpretrain import get_model

    reference = randomize_(get_model(name), std=0.02)
    state_dict = reference.state_dict()
    assert any(key.startswith('backbone.layers.0.token_mix.') for key in state_dict)  # not our names
    torch.save({'meta': {}, 'state_dict': state_dict}, path)
    return reference


@pytest.mark.slow
def test_pretrained_true_fetches_the_metafile_weights_and_loads_mmpretrains_names_strictly(
    tmp_path, hub_cache, elsewhere
):
    """The metafile's URL for B/16, redirected (mmpretrain's own ``url_mapping``) to a 127.0.0.1 server that holds a
    checkpoint in mmpretrain's format: the only untested part is that download.openmmlab.com serves the real file."""
    from mmpretrain import ImageClassificationInferencer, get_model
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    from skimage import data

    served = tmp_path / 'served'
    served.mkdir()
    filename = osp.basename(WEIGHTS['mixer-b16_in1k'])
    reference = mmpretrain_format_checkpoint(served / filename, 'mlp-mixer-base-p16_3rdparty_64xb64_in1k')
    with serve_directory(served) as url:
        mapping = (re.escape(PUBLISHED), url + '/')
        model = get_model('mixer-b16_in1k', pretrained=True, url_mapping=mapping)
        assert (hub_cache / filename).is_file()  # downloaded through mmengine's loader (ours, safe)
        inferencer = ImageClassificationInferencer('mixer-b16_in1k', pretrained=True, url_mapping=mapping)
    # Every weight arrived: mmengine's load reports missing keys only in its log, so compare the functions.
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours = model(model.data_preprocessor({'inputs': images})['inputs'], mode='tensor')
        theirs = reference(reference.data_preprocessor({'inputs': images})['inputs'], mode='tensor')
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)

    # A real photo through the named model's test pipeline: ImageNet class names, top 5 from the scores.
    result = inferencer(data.chelsea()[:, :, ::-1].copy())[0]  # the inferencer takes BGR arrays, as mmcv reads
    assert inferencer.classes == IMAGENET_CATEGORIES
    top5 = [inferencer.classes[i] for i in np.argsort(-result['pred_scores'])[:5]]
    assert top5[0] == result['pred_class'] and len(set(top5)) == 5


@pytest.mark.slow
def test_l16_by_name_with_a_pretrained_path(tmp_path, elsewhere):
    from mmpretrain import get_model

    checkpoint = tmp_path / 'l16.pth'
    reference = mmpretrain_format_checkpoint(checkpoint, 'mlp-mixer-large-p16_3rdparty_64xb64_in1k')
    model = get_model('mixer-l16_in1k', pretrained=str(checkpoint))
    assert model.backbone.embed_dims == 1024 and len(model.backbone.blocks) == 24
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(images, mode='tensor'), reference(images, mode='tensor'), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_registration_is_lazy_and_works_in_either_import_order():
    """``import mmmixer`` does not import mmpretrain; importing mmpretrain later (or earlier) registers our models."""
    check = (
        "import sys, mmmixer; assert 'mmpretrain' not in sys.modules, 'import mmmixer imported mmpretrain'; "
        "from mmpretrain import list_models; print(list_models('mixer-'))",
        "from mmpretrain import list_models; import mmmixer; print(list_models('mixer-'))",
        "import mmpretrain.apis.model as hub; import mmmixer; print(hub.list_models('mixer-'))",
    )
    for code in check:
        _, output = run(sys.executable, '-c', code)
        assert output.strip().splitlines()[-1] == str(sorted(OUR_MODELS)), output


# ----------------------------------------------------------------------------- mmpretrain's own tools
def mmpretrain_tool(relative: str) -> Path:
    import mmpretrain

    return Path(mmpretrain.__file__).parent / '.mim' / 'tools' / relative


@pytest.fixture(scope='module')
def trained_by_mmpretrains_tools(tmp_path_factory, digits_dir):
    """The demo config trained and tested by the tools/train.py and tools/test.py in mmpretrain's wheel."""
    work_dir = tmp_path_factory.mktemp('mmpretrain_tools')
    data = [f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')]
    config = REPO / 'configs' / 'mixer-demo_digits.py'
    _, train_output = run(mmpretrain_tool('train.py'), config, '--work-dir', work_dir,
        '--cfg-options', *data, 'train_cfg.max_epochs=3', 'train_cfg.val_interval=3')  # fmt: skip
    checkpoint = work_dir / 'epoch_3.pth'
    test_data = f'test_dataloader.dataset.data_root={digits_dir}'
    _, test_output = run(mmpretrain_tool('test.py'), config, checkpoint, '--work-dir', work_dir,
        '--out', work_dir / 'predictions.pkl', '--cfg-options', test_data)  # fmt: skip
    return checkpoint, train_output, test_output


@pytest.mark.slow
def test_mmpretrains_own_train_and_test_run_the_demo_config(trained_by_mmpretrains_tools):
    checkpoint, train_output, test_output = trained_by_mmpretrains_tools
    assert checkpoint.is_file() and 'Saving checkpoint at 3 epochs' in train_output, train_output[-2000:]
    accuracy = float(re.findall(r'accuracy/top1: ([\d.]+)', test_output)[-1])
    assert accuracy > 60, test_output[-2000:]  # 3 of the demo's 15 epochs; chance is 10


@pytest.mark.slow
def test_the_inferencer_by_name_reads_real_digits_with_the_trained_demo(trained_by_mmpretrains_tools, digits_dir):
    from mmpretrain import ImageClassificationInferencer

    checkpoint, _, _ = trained_by_mmpretrains_tools
    images = sorted((digits_dir / 'val').rglob('*.png'))[::7]
    inferencer = ImageClassificationInferencer('mixer-demo_digits', pretrained=str(checkpoint))
    results = inferencer([str(path) for path in images], batch_size=16)
    correct = [result['pred_class'] == path.parent.name for result, path in zip(results, images, strict=True)]
    assert list(inferencer.classes) == DIGIT_CLASSES and np.mean(correct) > 0.6  # the Runner saved the folder names


@pytest.mark.slow
def test_mmpretrains_own_get_flops_counts_our_configs():
    # mmpretrain's tool counts backbone and neck (extract_feat): the head's 0.77 M multiply-adds are below 0.01 G.
    for config, shape, gflops in [('mixer-demo_digits.py', '32', None), ('mixer-b16_in1k.py', '224', 12.62)]:
        _, output = run(mmpretrain_tool('analysis_tools/get_flops.py'), REPO / 'configs' / config, '--shape', shape)
        flops = re.search(r'Flops: ([\d.]+) ?([GM])', output)
        assert flops and 'Params:' in output, output[-2000:]
        if gflops:
            assert flops[2] == 'G' and abs(float(flops[1]) - gflops) < 0.006, output[-2000:]


@pytest.mark.slow
def test_mmdets_own_train_and_test_run_the_detection_demo_config(tmp_path):
    """mmdet's wheel's tools/train.py and tools/test.py on our RetinaNet demo config, unchanged (tiny settings)."""
    import mmdet

    from mmmixer.dataset_writers import prepare_digit_detection
    from tests.helpers import save_classification_checkpoint

    tools = Path(mmdet.__file__).parent / '.mim' / 'tools'
    config = REPO / 'configs' / 'detection' / 'retinanet_mixer-demo_pyramid_digits.py'
    data = tmp_path / 'data'
    prepare_digit_detection(str(data), num_train=4, num_val=2, canvas_size=64, digits_per_canvas=(1, 2),
        digit_sizes=(16, 24))  # fmt: skip
    save_classification_checkpoint(tmp_path / 'cls.pth', img_size=16)
    options = [f'model.backbone.init_cfg.checkpoint={tmp_path / "cls.pth"}', 'model.test_cfg.score_thr=0.0']
    for loader in ('train', 'val', 'test'):
        options.append(f'{loader}_dataloader.dataset.data_root={data}/')
    options += [f'{split}_evaluator.ann_file={data}/annotations/instances_val.json' for split in ('val', 'test')]
    options += ['train_dataloader.dataset.pipeline.2.scale=(64,64)', 'train_dataloader.batch_size=2']
    options += [f'{loader}_dataloader.dataset.pipeline.1.scale=(64,64)' for loader in ('val', 'test')]
    work_dir = tmp_path / 'work'
    _, output = run(tools / 'train.py', config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', *options)  # fmt: skip
    assert (work_dir / 'epoch_1.pth').is_file() and 'coco/bbox_mAP' in output, output[-3000:]
    _, output = run(tools / 'test.py', config, work_dir / 'epoch_1.pth', '--work-dir', work_dir,
        '--cfg-options', *options)  # fmt: skip
    assert 'coco/bbox_mAP_50' in output, output[-3000:]


@pytest.mark.parametrize('old', sorted(mmmixer.patches.DEPRECATED_MODULES))
def test_an_old_module_path_imports_its_replacement_with_a_warning(old, monkeypatch):
    import importlib

    replacement = mmmixer.patches.DEPRECATED_MODULES[old]
    new_names = [replacement] if isinstance(replacement, str) else list(replacement)
    monkeypatch.delitem(sys.modules, f'mmmixer.{old}', raising=False)
    with pytest.warns(
        DeprecationWarning, match=re.escape(f'mmmixer.{old} is deprecated; import mmmixer.{new_names[0]}')
    ):
        module = importlib.import_module(f'mmmixer.{old}')
    for new in new_names:
        public = {name for name in vars(importlib.import_module(f'mmmixer.{new}')) if not name.startswith('_')}
        assert public <= set(vars(module)), f'mmmixer.{old} lacks names of mmmixer.{new}'
