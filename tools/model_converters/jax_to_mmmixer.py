"""Convert Google (vit_jax .npz) MLP-Mixer weights to an mmmixer checkpoint.

python tools/model_converters/jax_to_mmmixer.py SRC DST [--verify] [--no-head] [--arch b] [--publish] [--force]

Same as `mmmixer convert jax-to-mmmixer`; the logic lives in mmmixer.cli.convert.
"""

import sys

from mmmixer.cli.convert import to_mmmixer_main

if __name__ == '__main__':
    sys.exit(to_mmmixer_main('Google'))
