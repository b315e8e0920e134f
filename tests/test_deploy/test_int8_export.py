"""``mmmixer export ... --dtype int8 --calibration DIR``: a .pt2 int8 classifier that scores as fp32 does, checked
before it is written, and bad input as one line with nothing written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmmixer.cli import export
from mmmixer.models.builders import build_in_scope
from tests.helpers import REPO, randomize_, run_main

pytest.importorskip('torchao')
DEMO = REPO / 'configs' / 'mixer-demo_digits.py'


def digit_scan(index: int):
    """scikit-learn's digit ``index`` as a 32x32 RGB image, as written for the calibration folder."""
    from PIL import Image
    from sklearn.datasets import load_digits

    scan = (load_digits().images[index] * (255 / 16)).astype(np.uint8)
    return Image.fromarray(scan).resize((32, 32), Image.BILINEAR).convert('RGB')


def digit_inputs(indices) -> torch.Tensor:
    """The scans as the demo's data preprocessor gives them to the model: (pixel - 127.5) / 127.5."""
    pixels = np.stack([np.asarray(digit_scan(index)) for index in indices]).astype(np.float32)
    return torch.from_numpy(pixels).permute(0, 3, 1, 2) / 127.5 - 1


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo config's model with random weights, its checkpoint, and a folder of 40 digit scans as PNGs."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp('int8')
    model = randomize_(build_in_scope(Config.fromfile(str(DEMO)).model), std=0.1).eval()
    checkpoint = root / 'demo.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, checkpoint)
    folder = root / 'train'
    digits = load_digits()
    for index in range(40):
        (folder / str(digits.target[index])).mkdir(parents=True, exist_ok=True)
        digit_scan(index).save(folder / f'{index}.png')
    return model, checkpoint, folder


def test_the_int8_file_classifies_other_images_as_fp32_does(tmp_path, demo):
    from mmmixer.deploy.int8_export import load_int8

    model, checkpoint, folder = demo
    out = tmp_path / 'demo_int8.pt2'
    code, output = run_main(export.main, DEMO, checkpoint, out, '--dtype', 'int8', '--calibration', folder)
    assert code == 0, output
    assert 'calibrated on 40 images' in output and 'top-1 agreement' in output
    images = digit_inputs(range(40, 104))  # scans the export did not calibrate on
    predict = load_int8(out)
    with torch.no_grad():
        reference = model(images, mode='tensor')
    ours = predict(images)
    cosine = torch.nn.functional.cosine_similarity(ours.double(), reference.double(), dim=1)
    assert cosine.min() > 0.98
    assert (ours.argmax(1) == reference.argmax(1)).float().mean() >= 0.9
    assert sorted(path.name for path in tmp_path.iterdir()) == ['demo_int8.pt2']


@pytest.mark.parametrize(
    'case, message',
    [
        ('no-calibration', '--dtype int8 needs --calibration DIR'),
        ('calibration-without-int8', '--calibration is for --dtype int8'),
        ('not-a-folder', 'is not a folder'),
        ('empty-folder', 'has no images'),
        ('onnx-name', 'name the int8 output file .pt2'),
        ('too-far-from-fp32', 'too far from fp32'),
    ],
)
def test_int8_export_bad_input_is_one_line_and_writes_nothing(tmp_path, demo, case, message):
    _, checkpoint, folder = demo
    out = tmp_path / 'out.pt2'
    empty = tmp_path / 'empty'
    empty.mkdir()
    extra = {
        'no-calibration': ['--dtype', 'int8'],
        'calibration-without-int8': ['--calibration', folder],
        'not-a-folder': ['--dtype', 'int8', '--calibration', tmp_path / 'missing'],
        'empty-folder': ['--dtype', 'int8', '--calibration', empty],
        'onnx-name': ['--dtype', 'int8', '--calibration', folder],
        'too-far-from-fp32': ['--dtype', 'int8', '--calibration', folder, '--min-cosine', '1.01'],
    }[case]
    if case == 'onnx-name':
        out = tmp_path / 'out.onnx'
    code, output = run_main(export.main, DEMO, checkpoint, out, *extra)
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and message in errors[0], output
    assert 'Traceback' not in output
    assert not any(path.suffix in ('.pt2', '.onnx') or '.tmp-' in path.name for path in tmp_path.rglob('*'))


class RunsCode:
    """A pickle that, unpickled, creates ``marker``: what a crafted .pt2 could do to a loader."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.mark.parametrize(
    'case, message',
    [
        ('pickled-sample-inputs', 'not a readable int8 .pt2 graph (UnpicklingError'),
        ('pickled-weights', 'stores pickled tensors'),
        ('opaque-object', 'members such as data/constants/opaque_obj_0'),
        ('not-a-zip', 'not a readable int8 .pt2 graph (BadZipFile'),
    ],
)
def test_a_pt2_whose_loading_could_run_code_is_refused_before_torch_export_load(tmp_path, case, message):
    """torch.export.load unpickles these members with weights_only=False (torch/export/pt2_archive/_package.py)."""
    import json
    import pickle
    import re
    import zipfile

    from mmmixer.deploy.int8 import Int8Error
    from mmmixer.deploy.int8_export import load_int8

    marker = tmp_path / 'code_ran'
    path = tmp_path / 'crafted.pt2'
    members = {'archive/archive_version': b'0', 'archive/models/model.json': b'{}'}
    if case == 'pickled-sample-inputs':
        members['archive/data/sample_inputs/model.pt'] = pickle.dumps(RunsCode(marker))
    elif case == 'pickled-weights':
        config = {'config': {'w': {'path_name': 'weight_0', 'use_pickle': True}}}
        members['archive/data/weights/model_weights_config.json'] = json.dumps(config).encode()
        members['archive/data/weights/weight_0'] = pickle.dumps(RunsCode(marker))
    elif case == 'opaque-object':
        members['archive/data/constants/opaque_obj_0'] = pickle.dumps(RunsCode(marker))
    if case == 'not-a-zip':
        path.write_bytes(pickle.dumps(RunsCode(marker)))
    else:
        with zipfile.ZipFile(path, 'w') as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    with pytest.raises(Int8Error, match=re.escape(message)) as error:
        load_int8(path)
    assert '\n' not in str(error.value)
    assert not marker.exists()
