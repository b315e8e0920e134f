"""``--dtype fp32|bf16|int8|auto`` (and ``--calibration DIR``) in ``mmmixer infer``, ``mmmixer test`` and
``demo/image_demo.py``: bf16 agrees with fp32, fp32 stays the default, bad input is one line and exit 2."""

import importlib
import json
import shutil

import pytest

from mmmixer.cli.infer import main as infer
from mmmixer.cli.test import main as evaluate
from tests.helpers import REPO, run, run_main
from tests.test_hub import save_demo_checkpoint

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
# The module (``mmmixer.apis.cpu_predictor`` as an attribute is the function the package exports).
cpu_predictor_module = importlib.import_module('mmmixer.apis.cpu_predictor')
needs_bf16 = pytest.mark.skipif(
    not cpu_predictor_module.bf16_capabilities(), reason='this processor has no bf16 instructions'
)


@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('checkpoint') / 'demo.pth'
    save_demo_checkpoint(path)
    return path


@pytest.fixture
def scans(tmp_path, digits_dir):
    """40 real digit scans of the validation split, in a folder of their own."""
    folder = tmp_path / 'scans'
    folder.mkdir()
    for scan in sorted((digits_dir / 'val').rglob('*.png'))[::9][:40]:
        shutil.copy(scan, folder / f'{scan.parent.name}_{scan.name}')
    return folder


def predictions(tmp_path, scans, checkpoint, *args) -> tuple[dict, str]:
    out = tmp_path / f'predictions{len(list(tmp_path.glob("*.json")))}.json'
    code, output = run_main(infer, scans, '--model', 'mixer-demo_digits', '--pretrained', checkpoint, '--topk', 10,
                            '--out', out, *args)  # fmt: skip
    assert code == 0, output
    return {
        r['image']: {p['label']: p['score'] for p in r['predictions']} for r in json.loads(out.read_text())['results']
    }, output


@needs_bf16
def test_infer_bf16_agrees_with_fp32_and_reports_the_path_and_the_rate(tmp_path, scans, demo_checkpoint):
    fp32, fp32_output = predictions(tmp_path, scans, demo_checkpoint)
    bf16, bf16_output = predictions(tmp_path, scans, demo_checkpoint, '--dtype', 'bf16', '--batch-size', 8,
                                    '--workers', 2)  # fmt: skip
    assert fp32.keys() == bf16.keys() and len(fp32) == 40
    top1 = [max(scores, key=scores.get) for scores in fp32.values()]
    assert sum(max(bf16[image], key=bf16[image].get) == label for image, label in zip(fp32, top1, strict=True)) >= 39
    assert max(abs(bf16[image][label] - fp32[image][label]) for image in fp32 for label in fp32[image]) < 0.02
    # The last line: how many images, how fast (decoding included), and which path ran.
    assert fp32_output.splitlines()[-1].startswith('40 images in ') and 'model: fp32 (eager)' in fp32_output
    last = bf16_output.splitlines()[-1]
    assert 'images/s, decoding and preprocessing included' in last and 'model: bf16 (weights converted once' in last


def test_decoding_workers_change_nothing(tmp_path, scans, demo_checkpoint):
    in_process, _ = predictions(tmp_path, scans, demo_checkpoint, '--workers', 0, '--batch-size', 7)
    in_workers, _ = predictions(tmp_path, scans, demo_checkpoint, '--workers', 2, '--batch-size', 7)
    assert in_process == in_workers


def test_a_broken_image_decoded_in_a_worker_is_one_line_naming_it(tmp_path, scans, demo_checkpoint):
    (scans / 'zz_broken.png').write_bytes(b'not a png')
    code, output = run_main(infer, scans, '--model', 'mixer-demo_digits', '--pretrained', demo_checkpoint,
                            '--batch-size', 4, '--workers', 2)  # fmt: skip
    lines = [line for line in output.splitlines() if line]
    assert code == 2 and len(lines) == 1 and f'image {scans / "zz_broken.png"} ' in lines[0], output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--dtype', 'int8'], '--dtype int8 needs --calibration DIR'),
        (['--dtype', 'bf16', '--calibration', '.'], '--calibration is for --dtype int8, not bf16'),
        (['--calibration', '.'], '--calibration is for --dtype int8, not fp32'),
        (['--dtype', 'int8', '--calibration', 'no/such/folder'], '--calibration no/such/folder is not a folder'),
        (['--dtype', 'bf16', '--device', 'cuda'], 'are CPU inference: pass --device cpu'),
    ],
)
def test_bad_dtype_arguments_are_one_line_and_exit_2(tmp_path, scans, demo_checkpoint, args, message):
    for main in (infer, evaluate):
        head = [scans] if main is infer else [DEMO, demo_checkpoint, '--work-dir', tmp_path / 'work']
        if main is evaluate and '--device' in args:
            continue  # test has no --device: the Runner places the model
        code, output = run_main(main, *head, *args)
        lines = [line for line in output.splitlines() if line.strip() and not line.startswith('usage')]
        assert code == 2 and len(lines) == 1 and message in lines[0], output
        assert not (tmp_path / 'work').exists()


def test_bf16_on_a_processor_without_it_is_one_line_and_auto_falls_back(tmp_path, scans, demo_checkpoint, monkeypatch):
    monkeypatch.setattr(cpu_predictor_module, 'bf16_capabilities', lambda: [])
    code, output = run_main(infer, scans, '--model', 'mixer-demo_digits', '--pretrained', demo_checkpoint,
                            '--dtype', 'bf16')  # fmt: skip
    assert code == 2 and output.count('\n') == 1 and 'has no bf16 instructions' in output, output
    _, output = predictions(tmp_path, scans, demo_checkpoint, '--dtype', 'auto')
    assert 'model: auto: fp32 (eager)' in output.splitlines()[-1]


def test_int8_names_what_is_missing_when_the_quantisation_is_not_installed(
    tmp_path, scans, demo_checkpoint, monkeypatch
):
    monkeypatch.setattr(cpu_predictor_module, 'INT8_MODULE', 'mmmixer.deploy.no_such_int8_module')
    code, output = run_main(infer, scans, '--model', 'mixer-demo_digits', '--pretrained', demo_checkpoint,
                            '--dtype', 'int8', '--calibration', scans)  # fmt: skip
    assert code == 2 and output.count('\n') == 1 and 'int8 is unavailable' in output, output


@needs_bf16
def test_test_bf16_scores_the_bf16_model_close_to_fp32(tmp_path, digits_dir, demo_checkpoint):
    results = {}
    for dtype in ('fp32', 'bf16'):
        out = tmp_path / f'{dtype}.json'
        code, output = run_main(evaluate, DEMO, demo_checkpoint, '--data-root', digits_dir, '--work-dir',
                                tmp_path / dtype, '--dtype', dtype, '--out', out)  # fmt: skip
        assert code == 0, output
        results[dtype] = json.loads(out.read_text())['accuracy/top1']
        assert ('the model runs as bf16' in output) == (dtype == 'bf16'), output
    assert abs(results['bf16'] - results['fp32']) <= 1.0, results


@needs_bf16
@pytest.mark.slow  # a subprocess
def test_image_demo_runs_bf16(digits_dir, demo_checkpoint):
    image = sorted((digits_dir / 'val').rglob('*.png'))[0]
    _, fp32 = run('demo/image_demo.py', image, DEMO, demo_checkpoint, '--topk', 1)
    _, bf16 = run('demo/image_demo.py', image, DEMO, demo_checkpoint, '--topk', 1, '--dtype', 'bf16')
    assert fp32.splitlines()[-2].split()[:2] == bf16.splitlines()[-2].split()[:2]  # the same top class
    assert fp32.splitlines()[-1] == 'model: fp32 (eager)' and bf16.splitlines()[-1].startswith('model: bf16')
    code, output = run('demo/image_demo.py', image, DEMO, demo_checkpoint, '--dtype', 'int8', check=False)
    assert code == 2 and '--dtype int8 needs --calibration DIR' in output


@pytest.mark.slow  # inductor compiles the int8 graph in a subprocess
def test_int8_calibrates_on_the_named_folder_in_infer_and_test(tmp_path, scans, digits_dir, demo_checkpoint):
    """The wiring: the calibration folder goes through the test pipeline to the quantiser (its accuracy is
    tests/test_deploy's), in `infer` (the inferencer's pipeline) and in `test` (the Runner's prepared config)."""
    pytest.importorskip('torchao')
    calibration = digits_dir / 'train' / '3'
    fp32, _ = predictions(tmp_path, scans, demo_checkpoint)
    int8, output = predictions(tmp_path, scans, demo_checkpoint, '--dtype', 'int8', '--calibration', calibration)
    assert 'model: int8 (static quantisation' in output.splitlines()[-1]
    top1 = {image: max(scores, key=scores.get) for image, scores in fp32.items()}
    assert sum(max(int8[image], key=int8[image].get) == label for image, label in top1.items()) >= 36
    code, output = run_main(evaluate, DEMO, demo_checkpoint, '--data-root', digits_dir, '--work-dir', tmp_path / 'w',
                            '--dtype', 'int8', '--calibration', calibration)  # fmt: skip
    assert code == 0 and 'the model runs as int8' in output and '(--dtype int8)' in output.splitlines()[-1], output
