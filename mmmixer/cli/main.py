"""The front door: ``mmmixer COMMAND ...`` (the console script) and ``python -m mmmixer COMMAND ...``.

One command per tool in ``tools/``: each runs the same ``main(argv, prog)`` as its ``tools/*.py``
wrapper. Only the chosen command's module is imported.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from mmmixer.cli.subcommands import choose_command


class Command(NamedTuple):
    module: str  # holds the command's main(argv, prog)
    summary: str  # its line in ``mmmixer --help``
    function: str = 'main'


COMMANDS = {
    'train': Command('mmmixer.cli.train', 'train a model from a config (tools/train.py)'),
    'test': Command('mmmixer.cli.test', "evaluate a checkpoint on a config's test set (tools/test.py)"),
    'infer': Command(
        'mmmixer.cli.infer', 'classify images (files, folders) with a zoo model or a config; top-k table, drawings'
    ),
    'convert': Command(
        'mmmixer.cli.convert',
        'convert weights: timm-to-mmmixer, jax-to-mmmixer, mmmixer-to-timm (tools/model_converters/)',
    ),
    'publish': Command(
        'mmmixer.cli.publish', 'drop the training state from a checkpoint, hash its name (tools/publish_model.py)'
    ),
    'get-flops': Command(
        'mmmixer.cli.get_flops', "count a config model's parameters and FLOPs (tools/analysis_tools/get_flops.py)"
    ),
    'benchmark': Command(
        'mmmixer.cli.benchmark', 'throughput and memory of mmmixer vs timm vs mmpretrain (tools/analysis_tools/)'
    ),
    'vis-token-mixing': Command(
        'mmmixer.cli.vis_token_mixing', "draw a block's token-mixing units (tools/visualizations/vis_token_mixing.py)"
    ),
    'export': Command(
        'mmmixer.cli.export', 'a config model to ONNX, checked with ONNX Runtime (tools/deployment/pytorch2onnx.py)'
    ),
    'check-data': Command(
        'mmmixer.cli.check_data', "list a config data set's images that do not decode (tools/misc/check_data.py)"
    ),
    'prepare-digits': Command(
        'mmmixer.cli.prepare_data', "write scikit-learn's digits as an ImageNet-style folder tree", 'digits_main'
    ),
    'prepare-digit-detection': Command(
        'mmmixer.cli.prepare_data', 'write the digit detection set (COCO json, boxes + masks)', 'digit_detection_main'
    ),
    'prepare-digit-segmentation': Command(
        'mmmixer.cli.prepare_data',
        'write the digit segmentation set (canvases + label maps)',
        'digit_segmentation_main',
    ),
    'env': Command(
        'mmmixer.cli.env', 'versions of mmmixer, torch, mmcv, mmengine, mmpretrain ...; the patches in force'
    ),
    'demo': Command('mmmixer.cli.demo', 'prepare the digits, train a small Mixer, test it (make demo)'),
    'demo-det': Command('mmmixer.cli.demo_det', 'fine-tune the demo Mixer as a digit detector (make demo-det)'),
    'demo-seg': Command('mmmixer.cli.demo_seg', 'fine-tune the demo Mixer as a digit segmenter (make demo-seg)'),
    'finetune': Command(
        'mmmixer.cli.finetune', "fine-tune a pretrained Mixer on a folder of class sub-folders (big_vision's protocol)"
    ),
    'fewshot': Command(
        'mmmixer.cli.fewshot', "few-shot linear evaluation of a checkpoint's frozen features (big_vision's fewshot_lsr)"
    ),
    'demo-transfer': Command(
        'mmmixer.cli.demo_transfer', 'what pretraining buys: few-shot and fine-tuned digits (make demo-transfer)'
    ),
}


def main(argv: list[str] | None = None) -> int:
    from mmmixer import __version__
    from mmmixer.cli.env import describe_environment

    name, args = choose_command(
        'mmmixer',
        f'mmmixer {__version__}: MLP-Mixer for OpenMMLab. The same commands as tools/*.py, from any directory.',
        {name: command.summary for name, command in COMMANDS.items()},
        argv,
        version=describe_environment,
    )
    command = COMMANDS[name]
    result = getattr(importlib.import_module(command.module), command.function)(args, prog=f'mmmixer {name}')
    return result if isinstance(result, int) else 0  # convert returns its exit code; the others raise on errors
