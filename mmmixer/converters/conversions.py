"""Convert MLP-Mixer weights between timm, Google (.npz) and mmmixer checkpoints, and prove the result.

The flow of every conversion: read the source as timm-named tensors (:mod:`.formats`), infer the
architecture from the shapes (:mod:`.architecture`), rename for the target (:mod:`.names`), write
atomically, and optionally run the reference and the converted model on the same batch (:mod:`.verify`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from mmmixer.checkpoint import add_hash_to_name, sha256_of
from mmmixer.converters.architecture import check_arch, infer_spec
from mmmixer.converters.errors import ConversionError
from mmmixer.converters.formats import read_timm_layout, source_format
from mmmixer.converters.names import timm_to_mmmixer_names
from mmmixer.converters.progress import ProgressFile, progress_bar
from mmmixer.converters.verify import GELU_NAMES, VERIFY_TOLERANCE, verify
from mmmixer.errors import OutputPathError
from mmmixer.fileio import check_new_output, save_atomically, write_atomically
from mmmixer.models.builders import classifier_config
from mmmixer.models.spec import MixerSpec
from mmmixer.version import __version__

# Eval preprocessing the published weights expect (timm's pretrained configs), stored in `meta`.
PREPROCESSING = {
    'goog': dict(mean=[127.5] * 3, std=[127.5] * 3, interpolation='bicubic', crop_pct=0.875, resize=256, crop=224),
    'miil': dict(mean=[0.0] * 3, std=[255.0] * 3, interpolation='bilinear', crop_pct=0.875, resize=256, crop=224),
}


def save_with_progress(obj, dst: str, progress: bool) -> str:
    total = sum(v.numel() * v.element_size() for v in obj.get('state_dict', obj).values())
    if not progress:
        return save_atomically(obj, dst)
    with progress_bar(f'saving {os.path.basename(dst)}', total, True) as bar:
        return save_atomically(obj, dst, wrap=lambda f: ProgressFile(f, bar))


def check_destination(dst: str, force: bool) -> None:
    """:func:`mmmixer.fileio.check_new_output`, raised as the converters' one error (:class:`ConversionError`)."""
    try:
        check_new_output(dst, force)
    except OutputPathError as error:
        raise ConversionError(str(error)) from None


@dataclass
class ConversionResult:
    path: str
    spec: MixerSpec
    max_abs_diff: float | None
    reference: str


def preprocessing_for(src: str, override: str | None) -> str:
    if override:
        if override not in PREPROCESSING:
            raise ConversionError(f'--preprocess {override!r} is unknown; choose one of {sorted(PREPROCESSING)}')
        return override
    return 'miil' if 'miil' in os.path.basename(src).lower() else 'goog'


def to_mmmixer(
    src: str,
    dst: str,
    *,
    arch: str | None = None,
    no_head: bool = False,
    force: bool = False,
    publish: bool = False,
    run_verify: bool = False,
    preprocess: str | None = None,
    progress: bool = False,
    log=print,
) -> ConversionResult:
    """timm (.pth/.pt/.bin/.pth.tar/.safetensors) or Google (.npz) weights -> an mmmixer (mmengine) checkpoint."""
    fmt = source_format(src)
    check_destination(dst, force)
    state, _ = read_timm_layout(src, progress)
    if no_head:
        state = {k: v for k, v in state.items() if not k.startswith('head.')}
    spec = infer_spec(state)
    check_arch(spec, arch)
    log(f'source: {spec.describe()}')
    # The JAX models were trained with flax's tanh-approximated GELU; timm's port uses exact GELU.
    gelu = 'tanh' if fmt == 'npz' else 'none'
    mm_state = timm_to_mmmixer_names(state)
    meta = dict(
        source=os.path.basename(src),
        source_sha256=sha256_of(src),
        source_format=fmt,
        converter=f'mmmixer {__version__}',
        spec={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()},
        arch=spec.arch_name or 'custom',
        num_classes=spec.num_classes,
        gelu_approximate=gelu,
        preprocessing=dict(PREPROCESSING[preprocessing_for(src, preprocess)]),
        model_config=classifier_config(spec, gelu),
    )
    difference = None
    reference = f'timm MlpMixer with {GELU_NAMES[gelu]}'
    if run_verify:
        difference = verify(state, mm_state, spec, gelu)
        log(f'verify: max |logits difference| vs {reference}: {difference:.3g} (tolerance {VERIFY_TOLERANCE:g})')
    path = save_with_progress({'meta': meta, 'state_dict': mm_state}, dst, progress)
    if publish:
        path = add_hash_to_name(path)
    log(f'wrote {path}')
    return ConversionResult(path, spec, difference, reference)


# Mixer variants timm registers (timm.create_model names mixer_<arch><patch>_224).
TIMM_MIXER_NAMES = {(arch, patch): f'mixer_{arch}{patch}_224' for arch in ('s', 'b', 'l') for patch in (16, 32)}


def tanh_gelu_note(spec: MixerSpec, dst: str) -> str:
    """What a timm user needs for weights trained with tanh GELU (Google's JAX models): the code to run them."""
    timm_name = TIMM_MIXER_NAMES.get((spec.arch_name, spec.patch_size))
    if timm_name and spec.img_size == (224, 224) and spec.in_channels == 3:
        build = f"timm.create_model('{timm_name}', num_classes={spec.num_classes}, act_layer=timm.layers.GELUTanh)"
    else:
        mlp_ratio = spec.mlp_ratio
        build = (
            f'timm.models.mlp_mixer.MlpMixer(num_classes={spec.num_classes}, img_size={spec.img_size}, '
            f'in_chans={spec.in_channels}, patch_size={spec.patch_size}, num_blocks={spec.num_layers}, '
            f'embed_dim={spec.embed_dims}, mlp_ratio={mlp_ratio}, act_layer=timm.layers.GELUTanh)'
        )
    read = f'safetensors.torch.load_file({dst!r})' if dst.endswith('.safetensors') else f'torch.load({dst!r})'
    return (
        "note: the checkpoint's meta says these weights come from Google's JAX models, which use "
        'tanh-approximated GELU, so --verify compared against that function. timm builds Mixers with exact GELU '
        '(as it runs its own port of these weights); to compute the original function:\n'
        f'    model = {build}\n'
        f'    model.load_state_dict({read})'
    )


def gelu_recorded_in(meta: dict, src: str) -> str:
    """The GELU variant the converter recorded in ``meta`` ('none' when the file does not say)."""
    gelu = meta.get('gelu_approximate', 'none')
    if gelu not in GELU_NAMES:
        raise ConversionError(
            f"{src}: meta.gelu_approximate is {gelu!r}; expected 'none' or 'tanh' (was the meta edited by hand?)"
        )
    return gelu


def to_timm(
    src: str,
    dst: str,
    *,
    force: bool = False,
    run_verify: bool = False,
    progress: bool = False,
    log=print,
) -> ConversionResult:
    """An mmmixer / mmpretrain Mixer checkpoint -> a timm state dict (.pth, or .safetensors by extension)."""
    if source_format(src) != 'torch':
        raise ConversionError(f'{src}: an mmmixer checkpoint is a .pth/.pt file')
    dst_format = source_format(dst)
    if dst_format == 'npz':
        raise ConversionError(f'{dst}: write timm weights as .pth or .safetensors')
    check_destination(dst, force)
    state, meta = read_timm_layout(src, progress)
    spec = infer_spec(state)
    gelu = gelu_recorded_in(meta, src)
    log(f'source: {spec.describe()}')
    difference = None
    reference = f'timm MlpMixer with {GELU_NAMES[gelu]}'
    if run_verify:
        difference = verify(state, timm_to_mmmixer_names(state), spec, gelu)
        log(f'verify: max |logits difference| vs {reference}: {difference:.3g} (tolerance {VERIFY_TOLERANCE:g})')
    if dst_format == 'safetensors':
        from safetensors.torch import save_file

        path = write_atomically(dst, lambda tmp: save_file({k: v.contiguous() for k, v in state.items()}, tmp))
    else:
        path = save_with_progress(state, dst, progress)
    log(f'wrote {path}')
    if gelu == 'tanh':
        log(tanh_gelu_note(spec, path))
    return ConversionResult(path, spec, difference, reference)
