"""The data-pipeline benchmark's inputs are photo-like and distinct; the workers-to-feed arithmetic."""

import io
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from mmmixer.benchmark.data_pipeline import workers_to_feed, write_photo_like_jpegs


def jpeg_bytes(image: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='JPEG', quality=90)
    return len(buffer.getvalue())


def test_synthetic_jpegs_are_distinct_and_take_a_photos_bytes(tmp_path):
    paths = write_photo_like_jpegs(str(tmp_path), 3)
    contents = [Path(path).read_bytes() for path in paths]
    assert len(set(contents)) == 3
    first = np.asarray(Image.open(paths[0]))
    assert first.shape == (375, 500, 3)
    # Real photos cut to 375 x 500 and saved the same way: smooth or flat images would be far smaller and decode faster.
    photos = [jpeg_bytes(np.ascontiguousarray(photo[:375, :500])) for photo in (data.coffee(), data.astronaut())]
    assert 0.5 * min(photos) < len(contents[0]) < 1.5 * max(photos)


def test_workers_to_feed_a_step_round_up():
    assert workers_to_feed(800.0, 400.0) == 2
    assert workers_to_feed(801.0, 400.0) == 3
    assert workers_to_feed(4100.0, 437.7) == 10
