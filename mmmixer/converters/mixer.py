"""Convert MLP-Mixer weights between timm, Google (.npz) and mmmixer checkpoints, and prove the result.

The flow of every conversion: read the source as timm-named tensors (:mod:`.formats`), infer the
architecture from the shapes (:func:`infer_spec`), rename for the target, write atomically, and
optionally run the reference and the converted model on the same batch (:func:`verify`).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import asdict, dataclass
from functools import partial

import torch
from torch import nn

from mmmixer.checkpoint import add_hash_to_name, save_atomically, sha256_of
from mmmixer.converters.formats import ConversionError, source_format
from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO, rename_mmpretrain_key
from mmmixer.models.utils import token_mixing_grid
from mmmixer.version import __version__

VERIFY_TOLERANCE = 1e-5

# GELU variants (nn.GELU's `approximate`) as the verify messages name them.
GELU_NAMES = {'none': 'exact GELU', 'tanh': 'tanh-approximated GELU (the JAX models)'}

# Eval preprocessing the published weights expect (timm's pretrained configs), stored in `meta`.
PREPROCESSING = {
    'goog': dict(mean=[127.5] * 3, std=[127.5] * 3, interpolation='bicubic', crop_pct=0.875, resize=256, crop=224),
    'miil': dict(mean=[0.0] * 3, std=[255.0] * 3, interpolation='bilinear', crop_pct=0.875, resize=256, crop=224),
}


@dataclass(frozen=True)
class MixerSpec:
    """What the tensors say about the model that produced them."""

    embed_dims: int
    num_layers: int
    tokens_mlp_dims: int
    channels_mlp_dims: int
    patch_size: int
    grid: tuple[int, int]
    in_channels: int
    num_classes: int  # 0: no head

    @property
    def arch(self) -> dict:
        return dict(
            embed_dims=self.embed_dims,
            num_layers=self.num_layers,
            tokens_mlp_dims=self.tokens_mlp_dims,
            channels_mlp_dims=self.channels_mlp_dims,
        )

    @property
    def arch_name(self) -> str | None:
        """'s', 'b', 'l' or 'h' when the dims are the paper's, else None."""
        return next((name for name in ('s', 'b', 'l', 'h') if ARCH_ZOO[name] == self.arch), None)

    @property
    def img_size(self) -> tuple[int, int]:
        return self.grid[0] * self.patch_size, self.grid[1] * self.patch_size

    def describe(self) -> str:
        name = f'Mixer-{self.arch_name.upper()}/{self.patch_size}' if self.arch_name else 'custom Mixer'
        head = f'{self.num_classes}-class head' if self.num_classes else 'no head'
        return (
            f'{name} (embed_dims={self.embed_dims}, num_layers={self.num_layers}, '
            f'tokens_mlp_dims={self.tokens_mlp_dims}, channels_mlp_dims={self.channels_mlp_dims}), '
            f'patch {self.patch_size}, grid {self.grid[0]}x{self.grid[1]} '
            f'({self.img_size[0]}x{self.img_size[1]} input), {head}'
        )

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """timm name -> shape of every tensor of this model."""
        c, n = self.embed_dims, self.grid[0] * self.grid[1]
        shapes = {
            'stem.proj.weight': (c, self.in_channels, self.patch_size, self.patch_size),
            'stem.proj.bias': (c,),
            'norm.weight': (c,),
            'norm.bias': (c,),
        }
        for i in range(self.num_layers):
            for norm in ('norm1', 'norm2'):
                shapes[f'blocks.{i}.{norm}.weight'] = shapes[f'blocks.{i}.{norm}.bias'] = (c,)
            for mlp, width, hidden in (
                ('mlp_tokens', n, self.tokens_mlp_dims),
                ('mlp_channels', c, self.channels_mlp_dims),
            ):
                shapes[f'blocks.{i}.{mlp}.fc1.weight'] = (hidden, width)
                shapes[f'blocks.{i}.{mlp}.fc1.bias'] = (hidden,)
                shapes[f'blocks.{i}.{mlp}.fc2.weight'] = (width, hidden)
                shapes[f'blocks.{i}.{mlp}.fc2.bias'] = (width,)
        if self.num_classes:
            shapes['head.weight'] = (self.num_classes, c)
            shapes['head.bias'] = (self.num_classes,)
        return shapes


def _listing(keys, limit: int = 4) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:limit]) + (f' (+{len(keys) - limit} more)' if len(keys) > limit else '')


# Keys (timm names) that every Mixer has and no other model has together.
MIXER_ANCHOR_KEYS = (
    'stem.proj.weight',
    'blocks.0.mlp_tokens.fc1.weight',
    'blocks.0.mlp_channels.fc1.weight',
    'norm.weight',
)


def check_is_mixer(timm_keys, file_keys) -> None:
    """Refuse weights without Mixer's anchor keys; the message lists keys as the file names them."""
    missing = [key for key in MIXER_ANCHOR_KEYS if key not in timm_keys]
    if missing:
        raise ConversionError(
            f'not an MLP-Mixer checkpoint: missing keys {missing}; it has keys like {_listing(file_keys)}. '
            'Pass the weights of a Mixer model (timm mixer_*, Google Mixer-*.npz or an mmmixer checkpoint).'
        )


def infer_spec(state: dict[str, torch.Tensor]) -> MixerSpec:
    """Read the architecture off the tensor shapes; a clear error for anything that is not a Mixer."""
    check_is_mixer(state, state)
    stem = state['stem.proj.weight']
    tokens_fc1 = state['blocks.0.mlp_tokens.fc1.weight']
    try:
        grid = token_mixing_grid(tokens_fc1.shape[1])
    except ValueError as error:
        raise ConversionError(f'the token-mixing MLP does not fit a square token grid: {error}') from None
    blocks = {int(m.group(1)) for key in state if (m := re.match(r'blocks\.(\d+)\.', key))}
    spec = MixerSpec(
        embed_dims=stem.shape[0],
        num_layers=max(blocks) + 1,
        tokens_mlp_dims=tokens_fc1.shape[0],
        channels_mlp_dims=state['blocks.0.mlp_channels.fc1.weight'].shape[0],
        patch_size=stem.shape[-1],
        grid=grid,
        in_channels=stem.shape[1],
        num_classes=state['head.weight'].shape[0] if 'head.weight' in state else 0,
    )
    expected = spec.expected_shapes()
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    if missing or unexpected:
        raise ConversionError(
            f'not a complete MLP-Mixer checkpoint: missing keys [{_listing(missing)}], '
            f'unexpected keys [{_listing(unexpected)}]'
        )
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ConversionError(
                f'shape mismatch at {key}: {tuple(state[key].shape)} in the file, {shape} expected for '
                f'{spec.describe()}; the file is inconsistent or not a standard Mixer'
            )
    return spec


def check_arch(spec: MixerSpec, arch: str | None) -> None:
    if arch is None:
        return
    wanted = ARCH_ZOO.get(arch.lower())
    if wanted is None:
        raise ConversionError(f'--arch {arch!r} is unknown; choose one of {sorted(ARCH_ZOO)}')
    if wanted != spec.arch:
        raise ConversionError(f'--arch {arch} disagrees with the file, which holds {spec.describe()}; drop --arch')


# ----------------------------------------------------------------------------- names
def timm_to_mmmixer_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm names -> an mmpretrain ``ImageClassifier`` with our backbone and a ``LinearClsHead``."""
    return {(f'head.fc.{k[5:]}' if k.startswith('head.') else f'backbone.{k}'): v for k, v in state.items()}


def mmmixer_to_timm_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse; also takes mmpretrain's own Mixer names. Data-preprocessor buffers are dropped."""
    out, unexpected = {}, []
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[rename_mmpretrain_key(key[len('backbone.') :])] = value
        elif key.startswith('head.fc.'):
            out[f'head.{key[len("head.fc.") :]}'] = value
        elif not key.startswith('data_preprocessor.'):
            unexpected.append(key)
    check_is_mixer(out, state)  # another model (an mmpretrain ViT ...) is named as such, not by its odd key
    if unexpected:
        raise ConversionError(
            f'unexpected key {unexpected[0]!r} in an mmmixer checkpoint (only backbone.* and head.fc.*: '
            'a Mixer with a LinearClsHead or without a head)'
        )
    return out


# ----------------------------------------------------------------------------- models for verification
def build_timm_reference(spec: MixerSpec, gelu_approximate: str = 'none') -> nn.Module:
    from timm.models.mlp_mixer import MlpMixer as TimmMlpMixer

    model = TimmMlpMixer(
        num_classes=spec.num_classes,
        img_size=spec.img_size,
        in_chans=spec.in_channels,
        patch_size=spec.patch_size,
        num_blocks=spec.num_layers,
        embed_dim=spec.embed_dims,
        mlp_ratio=(spec.tokens_mlp_dims / spec.embed_dims, spec.channels_mlp_dims / spec.embed_dims),
        act_layer=partial(nn.GELU, approximate=gelu_approximate),
    )
    return model.eval()


def classifier_config(spec: MixerSpec, gelu_approximate: str = 'none') -> dict:
    """The mmpretrain model config that the converted state dict fits."""
    backbone = dict(
        type='mmmixer.MlpMixer',
        arch=spec.arch_name or spec.arch,
        img_size=spec.img_size,
        patch_size=spec.patch_size,
        in_channels=spec.in_channels,
        act_cfg=dict(type='GELU', approximate=gelu_approximate),
    )
    model = dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling', dim=1))
    if spec.num_classes:
        model['head'] = dict(type='LinearClsHead', num_classes=spec.num_classes, in_channels=spec.embed_dims)
    return model


def build_mmmixer_classifier(spec: MixerSpec, gelu_approximate: str = 'none') -> nn.Module:
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    return MODELS.build(classifier_config(spec, gelu_approximate)).eval()


def verify(
    timm_state: dict[str, torch.Tensor],
    mm_state: dict[str, torch.Tensor],
    spec: MixerSpec,
    gelu_approximate: str = 'none',
    batch_size: int = 2,
) -> float:
    """Max |logits difference| of the reference (timm) and the converted (mmmixer) model on one random batch.

    Without a head the pooled features are compared instead. Raises above :data:`VERIFY_TOLERANCE`.
    """
    reference = build_timm_reference(spec, gelu_approximate)
    reference.load_state_dict(timm_state, strict=True)
    converted = build_mmmixer_classifier(spec, gelu_approximate)
    converted.load_state_dict(mm_state, strict=True)
    images = torch.randn(batch_size, spec.in_channels, *spec.img_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(images)
        actual = converted(images, mode='tensor')
        if isinstance(actual, tuple):  # no head: backbone + neck output
            actual = actual[-1]
    difference = (expected - actual).abs().max().item()
    if not difference <= VERIFY_TOLERANCE:
        raise ConversionError(
            f'verification failed: max |logits difference| {difference:.3g} > {VERIFY_TOLERANCE:g}; '
            'the converted weights do not compute the same function'
        )
    return difference


# ----------------------------------------------------------------------------- conversion API
class _ProgressFile(io.RawIOBase):
    """A binary file whose reads and writes advance a tqdm bar."""

    def __init__(self, file, bar):
        self._file, self._bar = file, bar

    def readable(self):
        return self._file.readable()

    def writable(self):
        return self._file.writable()

    def seekable(self):
        return True

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        self._bar.update(count or 0)
        return count

    def write(self, data):
        count = self._file.write(data)
        self._bar.update(count)
        return count

    def seek(self, offset, whence=io.SEEK_SET):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()


def _bar(description: str, total: int | None, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit='B', unit_scale=True, unit_divisor=1024, disable=not enabled)


def check_destination(dst: str, force: bool) -> None:
    if os.path.isdir(dst):
        raise ConversionError(f'{dst} is a directory; give a file name such as {os.path.join(dst, "model.pth")}')
    if os.path.exists(dst) and not force:
        raise ConversionError(f'{dst} exists; pass --force to overwrite it')
    directory = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(directory):
        raise ConversionError(f'output folder {directory} does not exist; create it first')
    if not os.access(directory, os.W_OK):
        raise ConversionError(f'output folder {directory} is not writable; choose another destination')


def read_timm_layout(src: str, progress: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """Any supported source file as timm-named float tensors, and its ``meta`` dict ({} if none)."""
    fmt = source_format(src)
    if not os.path.isfile(src):
        raise ConversionError(f'{src} does not exist')
    size = os.path.getsize(src)
    with _bar(f'loading {os.path.basename(src)}', size, progress) as bar:
        if fmt == 'npz':
            from mmmixer.converters.formats import load_npz

            return load_npz(src, progress=bar), {}
        if fmt == 'safetensors':
            from mmmixer.converters.formats import load_safetensors

            state = load_safetensors(src)
            bar.update(size)
            return state, {}
        from mmmixer.converters.formats import load_torch

        with open(src, 'rb') as raw:
            return load_torch(src, file=_ProgressFile(raw, bar))


def save_with_progress(obj, dst: str, progress: bool) -> str:
    total = sum(v.numel() * v.element_size() for v in obj.get('state_dict', obj).values())
    if not progress:
        return save_atomically(obj, dst)
    with _bar(f'saving {os.path.basename(dst)}', total, True) as bar:
        return save_atomically(obj, dst, wrap=lambda f: _ProgressFile(f, bar))


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
        mlp_ratio = (spec.tokens_mlp_dims / spec.embed_dims, spec.channels_mlp_dims / spec.embed_dims)
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

        tmp = f'{dst}.tmp-{os.getpid()}'
        try:
            save_file({k: v.contiguous() for k, v in state.items()}, tmp)
            os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        path = dst
    else:
        path = save_with_progress(state, dst, progress)
    log(f'wrote {path}')
    if gelu == 'tanh':
        log(tanh_gelu_note(spec, path))
    return ConversionResult(path, spec, difference, reference)
