"""Writes tests/data/tf_randaugment_level15.npz: TensorFlow's own outputs for the recipe's image ops.

Not run by the test suite (TensorFlow is not a dependency); run it once to regenerate the reference:

    python -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.15.1 tensorflow-addons==0.23.0 'numpy<2' \
        scikit-image
    git show HEAD:big_vision/pp/archive/autoaugment.py > /tmp/autoaugment.py   # in a big_vision checkout
    /tmp/tf/bin/python tests/data/make_tf_reference.py /tmp/autoaugment.py

It imports big_vision's ``pp/archive/autoaugment.py`` (the RandAugment of configs/mlp_mixer_i1k.py) and calls its
ops inside ``tf.function`` (graph mode, as ``tf.data`` runs them) with the arguments its ``level_to_arg`` gives at
level 15, on a crop of scikit-image's ``chelsea`` photo; ``tf.image.resize`` as big_vision's ``resize`` op.
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


if __name__ == '__main__':
    main(sys.argv[1])
