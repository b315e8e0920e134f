"""Small shared helpers for the tests."""

import contextlib
import http.server
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TINY_DEMO_MODEL = [
    'model.backbone.arch.embed_dims=16',
    'model.backbone.arch.num_layers=2',
    'model.backbone.arch.tokens_mlp_dims=8',
    'model.backbone.arch.channels_mlp_dims=32',
    'model.head.in_channels=16',
]


def run(*args, env=None, timeout=600, check=True):
    """Run a tool with this interpreter from the repo root; return (exit code, combined output)."""
    command = [sys.executable, *map(str, args)] if str(args[0]).endswith('.py') else list(map(str, args))
    result = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    if check and result.returncode != 0:
        raise AssertionError(f'{" ".join(command)} failed with {result.returncode}:\n{output[-4000:]}')
    return result.returncode, output


def run_main(main, *args) -> tuple[int, str]:
    """A command's ``main(argv)`` in this process, as its tool runs it: (exit code, stdout + stderr)."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            result = main([str(arg) for arg in args])
        except SystemExit as exit_:
            return (exit_.code if isinstance(exit_.code, int) else 1), output.getvalue()
    return (result if isinstance(result, int) else 0), output.getvalue()


def randomize_(module: torch.nn.Module, std: float = 0.05, seed: int = 1234) -> torch.nn.Module:
    """Give every parameter non-trivial random values, so that parity tests compare real functions
    (timm zero-initialises heads and nearly zero-initialises biases). Norm scales stay near 1."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * std
            is_norm_scale = param.ndim == 1 and name.endswith('weight') and 'norm' in name
            param.copy_(noise + 1.0 if is_norm_scale else noise)
    return module


class ShellPayload:
    """Unpickling this runs a shell command that creates ``marker``: the payload of a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f'touch {self.marker}',))


@contextlib.contextmanager
def serve_directory(root) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (an ephemeral port) in a thread; yields the base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), QuietHandler)
    # A short poll interval: shutdown() waits for the next poll (0.5 s by default, per served test).
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.02), daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def save_classification_checkpoint(path: Path, img_size: int) -> dict:
    """A `make demo`-style classifier (configs/mixer-demo_digits.py, random weights) trained at ``img_size``, saved as
    a Runner checkpoint; returns its backbone weights (without the prefix)."""
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(str(REPO / 'configs/mixer-demo_digits.py'))
    cfg.model.backbone.img_size = img_size
    classifier = randomize_(build_model_from_config(cfg))
    torch.save({'meta': {'epoch': 15}, 'state_dict': classifier.state_dict()}, path)
    return {k[len('backbone.') :]: v for k, v in classifier.state_dict().items() if k.startswith('backbone.')}


def runner_like_checkpoint() -> dict:
    """What an mmengine Runner checkpoint holds besides tensors."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    buffer = HistoryBuffer()
    buffer.update(1.5)
    return {
        'meta': {'epoch': 1},
        'state_dict': {'weight': torch.arange(4.0)},
        'message_hub': {'log_scalars': {'loss': buffer}, 'runtime_info': {'arr': np.arange(3), 'x': np.float64(2)}},
    }


def tiny_image_folder(root: Path, per_class: int = 4) -> Path:
    """An ImageNet-style ``root/train/<class>/*.png`` of 2 classes x ``per_class`` 32x32 images (seeded noise)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ('0', '1'):
        folder = root / 'train' / label
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pixels = rng.integers(0, 256, (32, 32), dtype=np.uint8) // (2 if label == '0' else 1)
            Image.fromarray(pixels).save(folder / f'{index}.png')
    return root


def tiny_training_options(data_root: Path, epochs: int = 3) -> list[str]:
    """``--cfg-options`` that make the demo config a seconds-long run on :func:`tiny_image_folder`: a tiny model,
    2 iterations an epoch, a checkpoint every epoch (only the newest kept, as the demo does)."""
    return [
        *TINY_DEMO_MODEL,
        'model.head.num_classes=2',
        'data_preprocessor.num_classes=2',
        f'train_cfg.max_epochs={epochs}',
        'train_dataloader.batch_size=4',
        f'train_dataloader.dataset.data_root={data_root}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        'optim_wrapper.optimizer.fused=False',
    ]
