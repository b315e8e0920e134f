"""Convert an mmmixer (or mmpretrain) Mixer checkpoint to timm weights (.pth or .safetensors).

python tools/model_converters/mmmixer_to_timm.py SRC DST [--verify] [--force]
"""

import sys

from mmmixer.cli.convert import to_timm_main

if __name__ == '__main__':
    sys.exit(to_timm_main())
