"""``mmmixer export CONFIG CHECKPOINT OUT.onnx`` (``tools/deployment/pytorch2onnx.py``): a config's model to ONNX.

A classifier exports to (logits, scores); ``--what backbone`` exports the backbone and neck of any config
(detection, segmentation) to their feature maps. ``--verify`` (on unless ``--no-verify``) runs the graph in
ONNX Runtime next to PyTorch, at the export shape and, when dynamic, at another batch and size, and writes
nothing if they differ by more than ``--tolerance``.

``--dtype int8 --calibration DIR`` writes the classifier quantised to int8 instead (weights and activations,
calibrated on the training images in DIR; :mod:`mmmixer.deploy.int8_export`): a ``.pt2`` graph, checked against
fp32 by top-1 agreement and logits cosine on the calibration images before it is written.
"""

from __future__ import annotations

import argparse
import os
import re

from mmmixer.cli.common import config_command_parser, usage_error
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.checks import check_checkpoint_path, check_config_values, import_config_modules
from mmmixer.config.options import add_cfg_options, merge_options
from mmmixer.config.read import load_config


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = config_command_parser(prog, 'Export a config model to ONNX and verify it with ONNX Runtime', 'config')
    parser.add_argument('checkpoint', help='checkpoint file or URL with the weights of the config model')
    parser.add_argument('out', help='the .onnx file to write (.pt2 with --dtype int8)')
    parser.add_argument('--force', action='store_true', help='overwrite OUT if it exists')
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
    parser.add_argument(
        '--dtype',
        choices=['fp32', 'int8'],
        default='fp32',
        help='fp32: the ONNX graph (default); int8: the classifier quantised to int8 (weights and activations) as a '
        '.pt2 graph for PyTorch (torchao), checked against fp32; needs --calibration',
    )
    parser.add_argument(
        '--calibration', metavar='DIR', help='--dtype int8: a folder of training images (never the scored ones)'
    )
    parser.add_argument(
        '--min-cosine', type=float, default=0.98, help='--dtype int8: least mean logits cosine with fp32 (0.98)'
    )
    parser.add_argument(
        '--min-agreement', type=float, default=0.9, help='--dtype int8: least top-1 agreement with fp32 (0.9)'
    )
    add_cfg_options(parser)
    return parser


def _some(names: list[str], limit: int = 3) -> str:
    shown = ', '.join(names[:limit])
    return shown + (f' and {len(names) - limit} more' if len(names) > limit else '')


def state_dict_mismatch(model, state_dict: dict) -> str:
    """What keeps ``state_dict`` from loading into ``model`` exactly, shortened to one line ('' when it fits)."""
    state_dict = {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}
    expected = {key: value for key, value in model.state_dict().items() if 'num_batches_tracked' not in key}
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(key for key in set(state_dict) - set(expected) if 'num_batches_tracked' not in key)
    reshaped = sorted(
        f'{key} {tuple(state_dict[key].shape)} vs {tuple(expected[key].shape)} in the model'
        for key in set(expected) & set(state_dict)
        if hasattr(state_dict[key], 'shape') and tuple(state_dict[key].shape) != tuple(expected[key].shape)
    )
    parts = [f'{len(missing)} missing weights ({_some(missing)})'] if missing else []
    parts += [f'{len(unexpected)} unexpected ({_some(unexpected)})'] if unexpected else []
    parts += [f'{len(reshaped)} of another shape ({_some(reshaped, 2)})'] if reshaped else []
    return '; '.join(parts)


def _build_model(cfg, checkpoint: str) -> tuple:
    """The config's model with the checkpoint's weights, in eval mode, and the checkpoint's ``meta``."""
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint

    if 'model' not in cfg:
        usage_error('the config has no model; export a config that defines one (e.g. configs/mixer-b16_in1k.py)')
    check_checkpoint_path(checkpoint, 'checkpoint')
    import_config_modules(cfg)  # mmcv's compiled ops for detection configs, custom_imports
    check_config_values(cfg)  # a value our backbone or neck rejects: error: model.backbone: ...
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    # Loaded leniently, then compared key by key: mmengine's strict error spreads the keys over many lines.
    loaded = load_checkpoint(model, checkpoint, map_location='cpu', strict=False, logger='silent')
    mismatch = state_dict_mismatch(model, loaded.get('state_dict', loaded) if isinstance(loaded, dict) else {})
    if mismatch:
        usage_error(
            f"checkpoint {checkpoint} does not fit the config's model: {mismatch}; export it with the config it "
            'was trained with'
        )
    return model.eval(), (loaded.get('meta') if isinstance(loaded, dict) else None)


def check_int8_arguments(args: argparse.Namespace) -> None:
    """The int8 options' mistakes, before any work."""
    if args.dtype != 'int8':
        if args.calibration is not None:
            usage_error('--calibration is for --dtype int8: leave it out, or add --dtype int8')
        return
    if args.calibration is None:
        usage_error('--dtype int8 needs --calibration DIR: a folder of training images (never the scored ones)')
    if not os.path.isdir(args.calibration):
        usage_error(f'--calibration {args.calibration} is not a folder; name a folder of training images')
    if not args.out.endswith('.pt2'):
        usage_error(f'{args.out}: name the int8 output file .pt2 (a PyTorch graph; the ONNX export is fp32)')
    if args.what == 'backbone':
        usage_error('--dtype int8 exports a classifier (images -> logits); leave out --what backbone')
    if args.dynamic_size or args.opset != 18 or not args.verify:
        usage_error('--dynamic-size, --opset and --no-verify are for the ONNX export; leave them out with --dtype int8')


def export_int8_command(args: argparse.Namespace, cfg, model) -> list:
    from mmmixer.deploy.int8 import Int8Error, folder_batches, torchao_missing
    from mmmixer.deploy.int8_export import export_int8
    from mmmixer.models.logits import logits_module

    missing = torchao_missing()
    if missing:
        usage_error(missing)
    if not (getattr(model, 'head', None) is not None and hasattr(model, 'extract_feat')):
        usage_error(f'--dtype int8 exports an image classifier; {type(model).__name__} is not one')
    try:
        batches = folder_batches(model, args.calibration, cfg)
        size = tuple(batches[0].shape[-2:])
        if args.shape and (args.shape[0], args.shape[-1]) != size:
            usage_error(
                f'--shape {args.shape[0]} {args.shape[-1]}: the test pipeline makes {size[0]}x{size[1]} images, '
                'which the int8 graph is calibrated and traced at; leave out --shape'
            )
        check = export_int8(
            logits_module(model), args.out, batches, min_cosine=args.min_cosine, min_agreement=args.min_agreement
        )
    except Int8Error as error:
        usage_error(str(error))
    except Exception as error:  # torch.export / inductor failures come in many classes; one line names the cause
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        usage_error(f'int8 export failed ({type(error).__name__}: {reason}); nothing was written')
    print(
        f'wrote {args.out}: int8 classifier (static, calibrated on {sum(map(len, batches))} images of '
        f'{args.calibration}), '
        f'{size[0]}x{size[1]}, any batch'
    )
    print(
        f'checked against fp32 on {check.images} calibration images: top-1 agreement {check.top1_agreement:.1%}, '
        f'logits cosine mean {check.mean_cosine:.4f} (min {check.min_cosine:.4f})'
    )
    return [check]


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> list:
    args = build_parser(prog).parse_args(argv)
    check_int8_arguments(args)
    if args.dtype == 'int8':
        return _main_int8(args)
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as error:
        usage_error(f"export needs onnx, onnxscript and onnxruntime ({error}); pip install 'mmmixer[deploy]'")
    from mmmixer.deploy import ExportError, default_size, export_onnx, preprocessing_metadata
    from mmmixer.fileio import check_new_output

    if not args.out.endswith('.onnx'):
        usage_error(f'{args.out}: name the output file .onnx')
    check_new_output(args.out, args.force)
    if args.shape is not None and len(args.shape) not in (1, 2):
        usage_error('--shape takes one or two integers (H W)')
    cfg = load_config(args.config)
    merge_options(cfg, args.cfg_options)
    model, checkpoint_meta = _build_model(cfg, args.checkpoint)
    what = args.what or (
        'classifier'
        if getattr(model, 'head', None) is not None
        and hasattr(model, 'extract_feat')
        and type(model).__name__ == 'ImageClassifier'
        else 'backbone'
    )
    size = (args.shape[0], args.shape[-1]) if args.shape else default_size(model.backbone, args.dynamic_size)
    head = getattr(model, 'head', None)
    metadata = preprocessing_metadata(cfg, checkpoint_meta, getattr(head, 'num_classes', None))
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


def _main_int8(args: argparse.Namespace) -> list:
    from mmmixer.fileio import check_new_output

    check_new_output(args.out, args.force)
    if args.shape is not None and len(args.shape) not in (1, 2):
        usage_error('--shape takes one or two integers (H W)')
    cfg = load_config(args.config)
    merge_options(cfg, args.cfg_options)
    model, _ = _build_model(cfg, args.checkpoint)
    return export_int8_command(args, cfg, model)
