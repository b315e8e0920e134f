"""``mmmixer export CONFIG CHECKPOINT OUT.onnx`` (``tools/deployment/pytorch2onnx.py``): a config's model to ONNX.

A classifier exports to (logits, scores); ``--what backbone`` exports the backbone and neck of any config
(detection, segmentation) to their feature maps. ``--verify`` (on unless ``--no-verify``) runs the graph in
ONNX Runtime next to PyTorch, at the export shape and, when dynamic, at another batch and size, and writes
nothing if they differ by more than ``--tolerance``.
"""

from __future__ import annotations

import argparse

from mmmixer.cli.common import (
    config_command_parser,
    load_config,
    prepare_runtime,
    reported_checkpoint_errors,
    usage_error,
)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = config_command_parser(prog, 'Export a config model to ONNX and verify it with ONNX Runtime', 'config')
    parser.add_argument('checkpoint', help='checkpoint file or URL with the weights of the config model')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs='+', help="input size: H W, or one side (default: the backbone's)")
    parser.add_argument('--batch', type=int, default=1, help='batch size of the example input (default 1)')
    parser.add_argument('--dynamic-batch', action='store_true', help='any batch size')
    parser.add_argument('--dynamic-size', action='store_true', help="any height and width (token_mixing='window')")
    parser.add_argument(
        '--what',
        choices=['classifier', 'backbone'],
        help='classifier: logits and scores (default for classifiers); '
        'backbone: backbone and neck feature maps (default otherwise)',
    )
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    parser.add_argument('--verify', action=argparse.BooleanOptionalAction, default=True, help='check with ONNX Runtime')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='largest |ONNX - PyTorch| allowed (fp32)')
    parser.add_argument('--cfg-options', nargs='+', action=_dict_action(), help='override config settings: key=value')
    return parser


def _dict_action():
    from mmengine.config import DictAction

    return DictAction


def _build_model(cfg, checkpoint: str):
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint

    from mmmixer.checkpoint import CheckpointError
    from mmmixer.cli.config_checks import check_checkpoint_path, check_config_values

    if 'model' not in cfg:
        usage_error('the config has no model; export a config that defines one (e.g. configs/mixer-b16_in1k.py)')
    check_config_values(cfg)  # a value our backbone or neck rejects: error: model.backbone: ..., exit 2
    check_checkpoint_path(checkpoint, 'checkpoint')
    prepare_runtime(cfg)  # mmcv's compiled ops for detection configs (one line if missing), custom_imports
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    with reported_checkpoint_errors():
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
        except CheckpointError:
            raise  # refused, damaged or another model's: reported_checkpoint_errors says so
        except RuntimeError as error:  # load_state_dict's report of missing / unexpected / mis-shaped weights
            first = str(error).strip().splitlines()
            detail = first[1].strip() if len(first) > 1 else first[0]
            usage_error(f"checkpoint {checkpoint} does not fit the config's model ({detail[:200]})")
    return model.eval()


def main(argv: list[str] | None = None, prog: str | None = None) -> list:
    args = build_parser(prog).parse_args(argv)
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as error:
        usage_error(f"export needs onnx, onnxscript and onnxruntime ({error}); pip install 'mmmixer[deploy]'")
    from mmmixer.deploy import ExportError, export_onnx
    from mmmixer.fileio import check_output_folder

    if not args.out.endswith('.onnx'):
        usage_error(f'{args.out}: name the output file .onnx')
    try:
        check_output_folder(args.out)
    except OSError as error:
        usage_error(str(error))
    if args.shape is not None and len(args.shape) not in (1, 2):
        usage_error('--shape takes one or two integers (H W)')
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = _build_model(cfg, args.checkpoint)
    size = (args.shape[0], args.shape[-1]) if args.shape else tuple(getattr(model.backbone, 'img_size', (224, 224)))
    what = args.what or (
        'classifier'
        if getattr(model, 'head', None) is not None
        and hasattr(model, 'extract_feat')
        and type(model).__name__ == 'ImageClassifier'
        else 'backbone'
    )
    preprocessor = cfg.get('data_preprocessor') or cfg.model.get('data_preprocessor') or {}
    metadata = {key: preprocessor[key] for key in ('mean', 'std', 'to_rgb', 'bgr_to_rgb') if key in preprocessor}
    try:
        checks = export_onnx(
            model,
            args.out,
            what=what,
            size=size,
            batch=args.batch,
            dynamic_batch=args.dynamic_batch,
            dynamic_size=args.dynamic_size,
            opset=args.opset,
            verify=args.verify,
            tolerance=args.tolerance,
            metadata={'mmmixer_config': args.config, 'input': 'normalised images (B, 3, H, W)', **metadata},
        )
    except ExportError as error:
        usage_error(str(error))
    dims = [name for name, on in (('batch', args.dynamic_batch), ('height and width', args.dynamic_size)) if on]
    print(
        f'wrote {args.out}: {what} exported at {args.batch}x3x{size[0]}x{size[1]}; dynamic: {", ".join(dims) or "none"}'
    )
    for check in checks:
        shape = 'x'.join(map(str, check.shape))
        print(f'verified with ONNX Runtime at {shape}: max |ONNX - PyTorch| = {check.max_abs_diff:.2e}')
    return checks
