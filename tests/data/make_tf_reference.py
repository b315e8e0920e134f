"""Writes tests/data/tf_randaugment_level15.npz and tf_recipe_photos.npz: TensorFlow's own outputs for the recipe's
image ops.

Not run by the test suite (TensorFlow is not a dependency); run it once to regenerate the reference:

    python -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.15.1 tensorflow-addons==0.23.0 'numpy<2' \
        scikit-image
    git show HEAD:big_vision/pp/archive/autoaugment.py > /tmp/autoaugment.py   # in a big_vision checkout
    /tmp/tf/bin/python tests/data/make_tf_reference.py /tmp/autoaugment.py

(2026-12: TensorFlow 2.15.1, TensorFlow Addons 0.23.0 and scikit-image 0.25 install on Python 3.11 from PyPI wheels.)

It imports big_vision's ``pp/archive/autoaugment.py`` (the RandAugment of configs/mlp_mixer_i1k.py) and calls its
ops inside ``tf.function`` (graph mode, as ``tf.data`` runs them) with the arguments its ``level_to_arg`` gives at
level 15, on a crop of scikit-image's ``chelsea`` photo; ``tf.image.resize`` as big_vision's ``resize`` op.

tf_recipe_photos.npz holds the same on eight photos of eight sizes (tests/data/recipe_photos.py): for each, two crop
boxes drawn by ``tf.image.sample_distorted_bounding_box`` (the recipe's area 5-100 % and a small one, 5-10 %, that is
enlarged), each box resized to 224 x 224 as big_vision's ``inception_crop`` does (``tf.slice`` then ``resize``); every
RandAugment op applied to the first 224 x 224 crop; and TensorFlow's ``decode_jpeg`` of three of the photos saved as
JPEG by PIL (the files' bytes are stored too). Outputs are stored as arrays where the tests need them as inputs, else
as sha256 digests (recipe_photos.digest) to keep the file small.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from skimage import data

PHOTO = (slice(60, 124), slice(170, 234))  # a 64 x 64 crop of chelsea (the cat's face), RGB
RESIZE_SOURCE = (slice(100, 160), slice(150, 230))  # 60 x 80, resized to 64 x 64 and to 96 x 72
# Translations by 150 px need a side longer than 150: a 32 x 224 strip for TranslateX, 224 x 32 for TranslateY.
TRANSLATE_SOURCE = {'TranslateX': (slice(60, 92), slice(100, 324)), 'TranslateY': (slice(40, 264), slice(170, 202))}
OUT = Path(__file__).with_name('tf_randaugment_level15.npz')
PHOTOS_OUT = Path(__file__).with_name('tf_recipe_photos.npz')
SIGNED_MAGNITUDES = {'Rotate': 45.0, 'ShearX': 0.45, 'ShearY': 0.45, 'TranslateX': 150.0, 'TranslateY': 150.0}
JPEG_PHOTOS = ('coffee', 'camera', 'chelsea')


def main(autoaugment_path: str) -> None:
    spec = importlib.util.spec_from_file_location('autoaugment', autoaugment_path)
    aa = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aa)
    level_to_arg = aa.level_to_arg(aa.HParams(cutout_const=40, translate_const=100))  # distort_image_with_randaugment
    image = tf.constant(data.chelsea()[PHOTO])
    fill = [128] * 3

    def graph(fn):
        return tf.function(fn)().numpy()

    def arg(name):
        return level_to_arg[name](15.0)[0]

    out = {
        'AutoContrast': graph(lambda: aa.autocontrast(image)),
        'Equalize': graph(lambda: aa.equalize(image)),
        'Invert': graph(lambda: aa.invert(image)),
        'Posterize': graph(lambda: aa.posterize(image, arg('Posterize'))),
        'Solarize': graph(lambda: aa.solarize(image, arg('Solarize'))),
        'SolarizeAdd': graph(lambda: aa.solarize_add(image, arg('SolarizeAdd'))),
    }
    for name in ('Color', 'Contrast', 'Brightness', 'Sharpness'):
        out[name] = graph(lambda name=name: aa.NAME_TO_FUNC[name](image, arg(name)))
    # Rotate, shears and translations take a random sign: both signs of the level-15 magnitude.
    magnitudes = {'Rotate': 45.0, 'ShearX': 0.45, 'ShearY': 0.45, 'TranslateX': 150.0, 'TranslateY': 150.0}
    for name, magnitude in magnitudes.items():
        source = tf.constant(data.chelsea()[TRANSLATE_SOURCE[name]]) if name in TRANSLATE_SOURCE else image
        for sign, suffix in ((1.0, '+'), (-1.0, '-')):
            value = tf.constant(sign * magnitude, tf.float32)
            out[name + suffix] = graph(
                lambda name=name, value=value, source=source: aa.NAME_TO_FUNC[name](source, value, fill)
            )
    source = tf.constant(data.chelsea()[RESIZE_SOURCE])
    for size in ((64, 64), (96, 72)):
        resized = tf.image.resize(source, size, method='bilinear', antialias=False)
        out[f'Resize{size[0]}x{size[1]}'] = tf.cast(tf.clip_by_value(resized, 0, 255), tf.uint8).numpy()
    np.savez_compressed(OUT, **out)
    print(f'wrote {OUT} ({len(out)} arrays, TensorFlow {tf.__version__})')
    write_photo_reference(aa, arg)


def big_vision_resize(image, size):
    """big_vision pp/ops_image.py get_resize: tf.image.resize (bilinear, no antialiasing), clip, cast."""
    resized = tf.image.resize(image, size, method='bilinear', antialias=False)
    return tf.cast(tf.clip_by_value(resized, 0, 255), tf.uint8)


def randaugment_ops(aa, arg, image, fill) -> dict:
    """Every RandAugment op at level 15 on ``image``, by name; the signed ones with each sign (``+``, ``-``)."""
    ops = {
        'AutoContrast': lambda: aa.autocontrast(image),
        'Equalize': lambda: aa.equalize(image),
        'Invert': lambda: aa.invert(image),
        'Posterize': lambda: aa.posterize(image, arg('Posterize')),
        'Solarize': lambda: aa.solarize(image, arg('Solarize')),
        'SolarizeAdd': lambda: aa.solarize_add(image, arg('SolarizeAdd')),
    }
    for op in ('Color', 'Contrast', 'Brightness', 'Sharpness'):
        ops[op] = lambda op=op: aa.NAME_TO_FUNC[op](image, arg(op))
    for op, magnitude in SIGNED_MAGNITUDES.items():
        for sign, suffix in ((1.0, '+'), (-1.0, '-')):
            value = tf.constant(sign * magnitude, tf.float32)
            ops[op + suffix] = lambda op=op, value=value: aa.NAME_TO_FUNC[op](image, value, fill)
    return ops


def write_photo_reference(aa, arg) -> None:
    import io

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).parent))
    from recipe_photos import PHOTOS, digest, photo

    out = {}
    fill = [128] * 3
    tf.random.set_seed(0)
    for index, name in enumerate(PHOTOS):
        image = tf.constant(photo(name))
        for box_index, area_range in enumerate(((0.05, 1.0), (0.05, 0.1))):
            begin, size, _ = tf.image.sample_distorted_bounding_box(
                tf.shape(image),
                tf.zeros([0, 0, 4], tf.float32),
                seed=2 * index + box_index + 1,
                area_range=area_range,
                aspect_ratio_range=(0.75, 1.33),
                min_object_covered=0,
                use_image_if_no_bounding_boxes=True,
            )
            crop = big_vision_resize(tf.slice(image, begin, size), (224, 224)).numpy()
            out[f'{name}/box{box_index}'] = np.array([*begin.numpy()[:2], *size.numpy()[:2]], np.int32)
            if box_index == 0:
                out[f'{name}/crop224'] = crop
                first_crop = tf.constant(crop)
            else:
                out[f'{name}/crop224_small'] = np.array(digest(crop))
        ops = randaugment_ops(aa, arg, first_crop, fill)
        for op, fn in ops.items():
            out[f'{name}/{op}'] = np.array(digest(tf.function(fn)().numpy()))
    for name in JPEG_PHOTOS:
        buffer = io.BytesIO()
        Image.fromarray(photo(name)).save(buffer, format='JPEG', quality=90)
        raw = buffer.getvalue()
        out[f'jpeg/{name}'] = np.frombuffer(raw, np.uint8)
        decoded = tf.io.decode_jpeg(raw, channels=3).numpy()  # decode_and_crop_jpeg's decoder and defaults
        out[f'jpeg/{name}/decoded'] = np.array(digest(decoded))
        # decode_and_crop_jpeg (big_vision's decode_jpeg_and_inception_crop) decodes only the window: how its pixels
        # differ from the whole image's decoded then cut (docs/recipe.md).
        rng = np.random.default_rng(0)
        changed = total = worst = 0
        for _ in range(200):
            height = int(rng.integers(32, decoded.shape[0]))
            width = int(rng.integers(32, decoded.shape[1]))
            top, left = int(rng.integers(0, decoded.shape[0] - height)), int(rng.integers(0, decoded.shape[1] - width))
            window = tf.image.decode_and_crop_jpeg(raw, [top, left, height, width], channels=3).numpy()
            difference = np.abs(window.astype(int) - decoded[top : top + height, left : left + width])
            changed, total, worst = (
                changed + (difference > 0).sum(),
                total + difference.size,
                max(worst, difference.max()),
            )
        print(
            f'{name}: decode_and_crop_jpeg vs decode_jpeg then cut, 200 windows: '
            f'{changed / total:.4%} of values differ, by at most {worst}'
        )
    np.savez_compressed(PHOTOS_OUT, **out)
    print(f'wrote {PHOTOS_OUT} ({len(out)} arrays, TensorFlow {tf.__version__})')


if __name__ == '__main__':
    main(sys.argv[1])
