"""Classification as a library: any image a user has is classified with the scores the model gives its test-pipeline
input; a checkpoint that does not fit the model, a config of another task and a model without weights are one line
naming the fix; the folders' other files are listed as skipped."""

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmmixer.apis import CheckpointMismatchError, Skipped, choose_model, classify_images
from mmmixer.errors import InputError
from tests.helpers import REPO
from tests.test_hub import save_demo_checkpoint

DEMO = str(REPO / 'configs/mixer-demo_digits.py')


@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('weights') / 'demo.pth'
    save_demo_checkpoint(path)
    return path


def three_class_run(folder, weights) -> tuple:
    """A user's config (the demo with a 3-class head, load_from the 10-class demo weights), and a checkpoint of a run
    of it saved as mmengine's Runner saves one: its config's text in meta.cfg (here with a call that must not run) and
    the config dumped in the work dir."""
    config = folder / 'my_config.py'
    config.write_text(f"_base_ = ['{DEMO}']\nmodel = dict(head=dict(num_classes=3))\nload_from = '{weights}'\n")
    work_dir = folder / 'run'
    work_dir.mkdir()
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.dump(str(work_dir / 'my_config.py'))
    marker = folder / 'ran'
    state = {k: v for k, v in torch.load(weights, weights_only=True)['state_dict'].items()}
    state['head.fc.weight'], state['head.fc.bias'] = torch.zeros(3, 64), torch.zeros(3)
    text = cfg.pretty_text + f"\nimport os\nos.system('touch {marker}')\n"
    meta = {'cfg': text, 'experiment_name': 'my_config_20261206_053000', 'dataset_meta': {'classes': ['a', 'b', 'c']}}
    torch.save({'meta': meta, 'state_dict': state}, work_dir / 'epoch_2.pth')
    return config, work_dir / 'epoch_2.pth', marker


def test_images_of_any_mode_and_size_get_the_scores_of_their_test_pipeline_input(tmp_path, demo_checkpoint):
    rng = np.random.default_rng(0)
    folder = tmp_path / 'mine'
    folder.mkdir()
    rgba = rng.integers(0, 256, (64, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, 'RGBA').save(folder / 'rgba.png')
    grey16 = rng.integers(0, 65536, (8, 3000), dtype=np.uint16)
    Image.fromarray(grey16).save(folder / 'strip16.png')
    (folder / 'notes.txt').write_text('not an image')
    found = classify_images([str(folder)], DEMO, str(demo_checkpoint), 'cpu', topk=3)
    assert [r.path for r in found.results] == [str(folder / 'rgba.png'), str(folder / 'strip16.png')]
    assert found.skipped == [Skipped(str(folder / 'notes.txt'), "not an image file (suffix '.txt')")]

    # Independently: composite on white, 16 -> 8 bits, resize the whole image to 32x32 (cv2 bilinear), BGR,
    # (x - 127.5) / 127.5, the model, softmax.
    alpha = rgba[..., 3:] / 255
    rgba_bgr = np.rint(rgba[..., :3] * alpha + 255 * (1 - alpha))[..., ::-1]
    grey8 = np.rint(grey16.astype(float) * 255 / 65535)
    inputs = [np.repeat(grey8[..., None], 3, axis=2), rgba_bgr][::-1]
    from mmpretrain import get_model

    model = get_model(DEMO, pretrained=str(demo_checkpoint)).eval()
    for result, image in zip(found.results, inputs, strict=True):
        resized = cv2.resize(image.astype(np.uint8), (32, 32), interpolation=cv2.INTER_LINEAR)
        x = (torch.from_numpy(resized).permute(2, 0, 1).float()[None] - 127.5) / 127.5
        with torch.no_grad():
            expected = model(x, mode='tensor').softmax(-1)[0].numpy()
        np.testing.assert_allclose(result.scores, expected, atol=1e-5)
        assert [p.label for p in result.predictions] == np.argsort(-expected)[:3].tolist()
        assert result.predictions[0].name == str(result.predictions[0].label)  # the checkpoint's class names


def test_a_config_without_weights_and_a_load_from_that_does_not_fit_the_head_are_one_line(tmp_path, demo_checkpoint):
    with pytest.raises(InputError, match='is a config and has no load_from: pass --pretrained CHECKPOINT'):
        choose_model(DEMO)
    config, _, _ = three_class_run(tmp_path, demo_checkpoint)
    choice = choose_model(str(config))
    assert (choice.checkpoint, choice.weights_from) == (str(demo_checkpoint), 'load_from')
    image = tmp_path / 'x.png'
    Image.new('RGB', (5, 5)).save(image)
    with pytest.raises(CheckpointMismatchError) as refused:
        classify_images([str(image)], str(config))
    assert str(refused.value) == (
        f"checkpoint {demo_checkpoint} (the config's load_from) does not fit {config}: head.fc.weight is [10, 64] in "
        'the checkpoint but [3, 64] in the model (and 1 more); '
        'pass --pretrained with a checkpoint trained with this config'
    )


def test_a_run_checkpoint_in_another_model_names_its_config_read_without_running_it(tmp_path, demo_checkpoint):
    config, checkpoint, marker = three_class_run(tmp_path, demo_checkpoint)
    image = tmp_path / 'x.png'
    Image.new('RGB', (5, 5)).save(image)
    with pytest.raises(CheckpointMismatchError) as refused:
        classify_images([str(image)], 'mixer-demo_digits', str(checkpoint))
    assert str(refused.value).endswith(f'use {tmp_path / "run" / "my_config.py"}, the config it was trained with')
    assert 'head.fc.weight is [3, 64] in the checkpoint but [10, 64] in the model' in str(refused.value)
    assert not marker.exists()
    # With its own config it classifies, with the class names the run saved.
    found = classify_images([str(image)], str(tmp_path / 'run' / 'my_config.py'), str(checkpoint), topk=3)
    assert sorted(p.name for p in found.results[0].predictions) == ['a', 'b', 'c']


@pytest.mark.slow
def test_a_run_checkpoint_without_a_model_names_its_config(tmp_path, demo_checkpoint):
    _, checkpoint, marker = three_class_run(tmp_path, demo_checkpoint)
    image = tmp_path / 'x.png'
    Image.new('RGB', (5, 5)).save(image)
    with pytest.raises(CheckpointMismatchError, match='does not fit the default model mixer-b16_in1k: ') as refused:
        classify_images([str(image)], None, str(checkpoint))  # builds B/16
    assert f'pass --model {tmp_path / "run" / "my_config.py"}' in str(refused.value) and not marker.exists()


def test_a_detection_config_is_refused_naming_what_to_use():
    pytest.importorskip('mmdet')
    with pytest.raises(InputError) as refused:
        choose_model(str(REPO / 'configs/detection/retinanet_mixer-demo_pyramid_digits.py'), 'x.pth')
    assert "is a detection config (default_scope='mmdet', model RetinaNet): infer classifies images; for detection " \
        "use mmdet's DetInferencer" in str(refused.value)  # fmt: skip


def test_mixed_sizes_fine_tuned_on_the_demo_validate_in_one_batch(tmp_path):
    """The demo's validation pipeline (with the command lines' checked loader) brings 48x48 and 64x40 images of any
    mode to 3 x 32 x 32, so that they stack into one batch."""
    from mmengine.dataset import Compose, default_collate
    from mmengine.registry import init_default_scope

    from mmmixer.config.prepare import use_checked_image_loading

    cfg = Config.fromfile(DEMO)
    use_checked_image_loading(cfg, ('val_dataloader',), DEMO, None)
    pipeline = cfg.val_dataloader.dataset.pipeline
    assert pipeline[0]['type'] == 'mmmixer.LoadImageChecked'
    init_default_scope('mmpretrain')
    Image.new('RGBA', (48, 48), (9, 9, 9, 0)).save(tmp_path / 'a.png')  # transparent: white
    Image.fromarray(np.full((40, 64), 65535, np.uint16)).save(tmp_path / 'b.png')  # 16-bit white
    samples = [Compose(pipeline)(dict(img_path=str(tmp_path / name))) for name in ('a.png', 'b.png')]
    batch = default_collate(samples)['inputs']
    assert batch.shape == (2, 3, 32, 32) and (batch == 255).all()
