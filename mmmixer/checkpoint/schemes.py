"""mmengine's checkpoint schemes, each replaced by a loader that fetches the file as mmengine does and
loads it with :func:`~mmmixer.checkpoint.safe_load.load_checkpoint_safely`.

mmengine 0.10 loads checkpoints with plain ``torch.load`` (local files, ``s3://``, ``pavi://``) or
``torch.hub``'s ``load_state_dict_from_url(..., weights_only=False)`` (``http(s)://``,
``torchvision://``, ``open-mmlab://``, ``mmcls://``): a downloaded pickle could run any code.
:func:`mmmixer.patches.install_safe_loaders` (``import mmmixer`` calls it) registers :data:`SAFE_SCHEME_LOADERS`
for every one of those prefixes.
"""

from __future__ import annotations

import io
import os
import sys
from tempfile import TemporaryDirectory
from urllib.parse import urlparse

import torch

from mmmixer.checkpoint.safe_load import CheckpointError, load_checkpoint_safely


def load_from_local_safely(filename: str, map_location=None):
    """Local paths (mmengine's log names each loader after the text past ``load_from_``)."""
    return load_checkpoint_safely(filename, map_location)


def download_to_hub_cache(url: str, model_dir: str | None = None, progress: bool = True) -> str:
    """Download ``url`` into ``<torch hub dir>/checkpoints`` unless it is there already (as mmengine and
    ``torch.hub.load_state_dict_from_url`` do), and return the path. Loading is left to the caller."""
    model_dir = model_dir or os.path.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    basename = os.path.basename(urlparse(url).path)
    if not basename:
        raise CheckpointError(f'{url} names no file to download')
    cached = os.path.join(model_dir, basename)
    if not os.path.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        try:
            # Writes a temporary file and renames it: an interrupted download leaves nothing cached.
            torch.hub.download_url_to_file(url, cached, progress=progress)
        except OSError as error:  # urllib's URLError / HTTPError included
            raise CheckpointError(f'cannot download {url}: {error}') from None
    return cached


def load_from_http_safely(url: str, map_location=None, model_dir: str | None = None, progress: bool = os.isatty(0)):
    """``http://`` and ``https://``: download, then load safely."""
    from mmengine.dist import get_dist_info

    rank, world_size = get_dist_info()
    # As mmengine: rank 0 downloads while the others wait, then they find the file in the cache.
    if rank == 0:
        path = download_to_hub_cache(url, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = download_to_hub_cache(url, model_dir, progress)
    return load_checkpoint_safely(path, map_location, source=f'{path} (downloaded from {url})')


def _name_after_scheme(filename: str) -> str:
    return filename.split('://', 1)[1]


def _lookup(table: dict, name: str, filename: str) -> str:
    if name not in table:
        examples = ', '.join(sorted(table)[:3])
        raise CheckpointError(f'{filename}: no checkpoint is registered under {name!r} (known names: {examples}, ...)')
    return table[name]


def load_from_torchvision_safely(filename: str, map_location=None):
    """``torchvision://NAME`` (and the old ``modelzoo://NAME``): the URL torchvision registers for NAME."""
    from mmengine.runner.checkpoint import get_torchvision_models

    url = _lookup(get_torchvision_models(), _name_after_scheme(filename), filename)
    return load_from_http_safely(url, map_location)


def load_from_openmmlab_safely(filename: str, map_location=None):
    """``open-mmlab://NAME``: a URL or a file under mmengine's home, from mmengine's tables."""
    from mmengine.runner.checkpoint import _get_mmengine_home, get_deprecated_model_names, get_external_models

    name = _name_after_scheme(filename)
    name = get_deprecated_model_names().get(name, name)
    location = _lookup(get_external_models(), name, filename)
    if location.startswith(('http://', 'https://')):
        return load_from_http_safely(location, map_location)
    return load_checkpoint_safely(os.path.join(_get_mmengine_home(), location), map_location)


def load_from_mmcls_safely(filename: str, map_location=None):
    """``mmcls://NAME``: an MMClassification checkpoint, keeping its backbone as mmengine does."""
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models

    url = _lookup(get_mmcls_models(), _name_after_scheme(filename), filename)
    return _process_mmcls_checkpoint(load_from_http_safely(url, map_location))


def load_from_pavi_safely(filename: str, map_location=None):
    """``pavi://PATH``: download from PAVI's model cloud into a temporary folder, then load safely."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(f'{filename}: install pavi to load checkpoints from its model cloud') from None
    model = modelcloud.get(_name_after_scheme(filename))
    with TemporaryDirectory() as folder:
        path = os.path.join(folder, model.name)
        model.download(path)
        return load_checkpoint_safely(path, map_location, source=filename)


def load_from_ceph_safely(filename: str, map_location=None, backend: str = 'petrel'):
    """``s3://`` / ``petrel://``: read the bytes through mmengine's file backend, then load safely."""
    from mmengine.fileio import get_file_backend

    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with io.BytesIO(data) as buffer:
        return load_checkpoint_safely(filename, map_location, file=buffer)


# Every prefix mmengine 0.10 registers, with its safe replacement (the regexes are mmengine's own keys).
SAFE_SCHEME_LOADERS = {
    '': load_from_local_safely,
    'http://': load_from_http_safely,
    'https://': load_from_http_safely,
    'pavi://': load_from_pavi_safely,
    r'(\S+\:)?s3://': load_from_ceph_safely,
    r'(\S+\:)?petrel://': load_from_ceph_safely,
    'modelzoo://': load_from_torchvision_safely,
    'torchvision://': load_from_torchvision_safely,
    'open-mmlab://': load_from_openmmlab_safely,
    'openmmlab://': load_from_openmmlab_safely,
    'mmcls://': load_from_mmcls_safely,
}
