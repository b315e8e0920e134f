"""``mmmixer infer IMAGE... [--model NAME|CONFIG] [--pretrained CKPT] [--topk] [--out] [--show-dir]``."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.cli.infer import main
from tests.helpers import REPO, ShellPayload, run_main
from tests.test_hub import DIGIT_CLASSES, save_demo_checkpoint


@pytest.fixture
def digit_images(tmp_path, digits_dir):
    """Twelve real digit scans in a folder of their own, two of them with the same file name."""
    folder = tmp_path / 'images'
    (folder / 'more').mkdir(parents=True)
    scans = sorted((digits_dir / 'val').rglob('*.png'))[::30][:12]
    for scan in scans:
        shutil.copy(scan, folder / f'{scan.parent.name}_{scan.name}')
    shutil.copy(scans[0], folder / 'more' / f'{scans[0].parent.name}_{scans[0].name}')
    return folder


@pytest.fixture
def demo_checkpoint(tmp_path):
    path = tmp_path / 'demo.pth'
    save_demo_checkpoint(path)
    return path


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if 'error' in line.lower()]


def test_a_folder_is_classified_in_batches_with_class_names_json_and_drawings(
    tmp_path, digit_images, demo_checkpoint, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, output = run_main(main, digit_images, '--model', 'mixer-demo_digits', '--pretrained', demo_checkpoint,
        '--topk', 3, '--batch-size', 5, '--out', 'predictions.json', '--show-dir', 'drawn')  # fmt: skip
    assert code == 0, output
    images = sorted(str(path) for path in digit_images.rglob('*.png'))
    lines = output.splitlines()
    header = lines.index(next(line for line in lines if line.startswith('image')))
    assert lines[header].split() == ['image', 'rank', 'class', 'score']
    rows = [line.split() for line in lines[header + 1 : header + 1 + 3 * len(images)]]
    saved = json.loads((tmp_path / 'predictions.json').read_text())
    # One row per image and rank: the image's path on its first row, then the class names and scores.
    assert [row[0] for row in rows[::3]] == images and all(len(row) == 3 for i, row in enumerate(rows) if i % 3)
    shown = [row[-2:] for row in rows]
    expected = [[p['class'], f'{p["score"]:.4f}'] for record in saved['results'] for p in record['predictions']]
    assert shown == expected
    assert saved['model'] == 'mixer-demo_digits' and [record['image'] for record in saved['results']] == images
    for record in saved['results']:
        rows = record['predictions']
        assert len(rows) == 3 and all(row['class'] == DIGIT_CLASSES[row['label']] for row in rows)
        assert rows[0]['score'] >= rows[1]['score'] >= rows[2]['score']
    # The same scores as mmpretrain's inferencer one image at a time.
    from mmengine.registry import DefaultScope
    from mmpretrain import inference_model

    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as a fresh process has it, whatever ran before here
        single = inference_model('mixer-demo_digits', images[0], pretrained=str(demo_checkpoint))
    assert saved['results'][0]['predictions'][0]['label'] == single['pred_label']
    assert abs(saved['results'][0]['predictions'][0]['score'] - single['pred_score']) < 1e-5
    drawings = sorted((tmp_path / 'drawn').glob('*.png'))
    assert len(drawings) == 13  # the two files of one name get numbered names, not one drawing over the other
    with Image.open(drawings[0]) as drawing:
        assert min(drawing.size) >= 256 and np.asarray(drawing).std() > 0  # enlarged, not blank


def test_an_image_that_is_not_an_image_is_one_line_naming_it(tmp_path, digit_images, demo_checkpoint):
    (digit_images / 'notes.png').write_text('not an image')
    code, output = run_main(main, digit_images, '--model', 'mixer-demo_digits', '--pretrained', demo_checkpoint)
    assert code == 2 and error_lines(output) == [line for line in output.splitlines() if line], output
    assert f'image {digit_images / "notes.png"} ' in output and 'decode' in output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['missing.png'], 'image missing.png does not exist'),
        (['--model', 'mixer-b16'], "unknown model 'mixer-b16' (closest names: mixer-b16_in1k"),
        (['--model', 'mixer-demo_digits'], 'mixer-demo_digits has no published weights: pass --pretrained'),
        (['--model', 'configs/mixer-demo_digits.py'], 'is a config and has no load_from: pass --pretrained'),
        (['--model', 'mixer-demo_digits', '--pretrained', 'nowhere.pth'], 'checkpoint nowhere.pth does not exist'),
        (['--topk', '0'], 'must be at least 1'),
        (['--out', 'no/such/folder/p.json'], 'does not exist; create it'),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, digit_images, monkeypatch, args, message):
    monkeypatch.chdir(REPO)
    images = [] if args[0].endswith('.png') else [str(digit_images)]
    code, output = run_main(main, *images, *args)
    lines = [line for line in output.splitlines() if line]
    assert code == 2 and len(lines) == 1 and message in lines[0], output


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, digit_images):
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'payload': ShellPayload(marker)}, tmp_path / 'evil.pth')
    code, output = run_main(main, digit_images, '--model', 'mixer-demo_digits', '--pretrained', tmp_path / 'evil.pth')
    assert code == 2 and 'refusing to load' in output and not marker.exists(), output
    assert not (tmp_path / 'predictions.json').exists()


def test_a_users_own_images_of_any_mode_and_size_are_classified_and_other_files_listed(tmp_path, demo_checkpoint):
    folder = tmp_path / 'mine'
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 4), dtype=np.uint8), 'RGBA').save(folder / 'rgba.png')
    Image.fromarray(rng.integers(0, 65536, (64, 64), dtype=np.uint16)).save(folder / 'grey16.png')
    Image.new('CMYK', (64, 40), (10, 200, 30, 5)).save(folder / 'cmyk.jpg')
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).convert('P').save(folder / 'palette.png')
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / 'photo.webp')
    Image.fromarray(rng.integers(0, 256, (64, 64, 2), dtype=np.uint8), 'LA').save(folder / 'grey_alpha.png')
    Image.new('RGB', (1, 1)).save(folder / 'one.png')
    Image.fromarray(rng.integers(0, 256, (8, 3000, 3), dtype=np.uint8)).save(folder / 'strip.png')
    (folder / 'notes.txt').write_text('my notes')
    (folder / 'README').write_text('readme')
    code, output = run_main(main, folder, '--model', 'configs/mixer-demo_digits.py', '--pretrained', demo_checkpoint,
        '--topk', 1, '--out', tmp_path / 'p.json')  # fmt: skip
    assert code == 0, output
    images = sorted(str(path) for path in folder.iterdir() if path.suffix not in ('.txt', ''))
    assert [line.split()[0] for line in output.splitlines()[1:9]] == images
    assert output.splitlines()[9:12] == [
        "skipped 2 of the folders' files: not images",
        f'  {folder / "README"}: not an image file (no suffix)',
        f"  {folder / 'notes.txt'}: not an image file (suffix '.txt')",
    ]
    saved = json.loads((tmp_path / 'p.json').read_text())
    assert [item['file'] for item in saved['skipped']] == [str(folder / 'README'), str(folder / 'notes.txt')]


def test_a_config_whose_load_from_does_not_fit_its_head_is_one_line(tmp_path, digit_images, demo_checkpoint):
    config = tmp_path / 'three_classes.py'
    config.write_text(f"_base_ = ['{REPO / 'configs/mixer-demo_digits.py'}']\n"
                      f"model = dict(head=dict(num_classes=3))\nload_from = '{demo_checkpoint}'\n")  # fmt: skip
    code, output = run_main(main, digit_images, '--model', config)
    lines = [line for line in output.splitlines() if line]
    assert code == 2 and len(lines) == 1, output
    assert lines[0].startswith(f"error: checkpoint {demo_checkpoint} (the config's load_from) does not fit {config}: ")
    assert 'head.fc.weight is [10, 64] in the checkpoint but [3, 64] in the model' in lines[0]


def test_a_detection_config_is_one_line_naming_what_detects(digit_images, demo_checkpoint):
    pytest.importorskip('mmdet')
    config = REPO / 'configs/detection/retinanet_mixer-demo_pyramid_digits.py'
    code, output = run_main(main, digit_images, '--model', config, '--pretrained', demo_checkpoint)
    lines = [line for line in output.splitlines() if line]
    assert (
        code == 2 and len(lines) == 1 and "infer classifies images; for detection use mmdet's DetInferencer" in lines[0]
    )
