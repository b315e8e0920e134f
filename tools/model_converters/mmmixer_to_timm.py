"""Convert an mmmixer (or mmpretrain) Mixer checkpoint to timm weights (.pth or .safetensors).

python tools/model_converters/mmmixer_to_timm.py SRC DST [--verify] [--force]

Same as `mmmixer convert mmmixer-to-timm`; the logic lives in mmmixer.cli.convert.
"""

import sys

from mmmixer.cli.convert import to_timm_main

if __name__ == '__main__':
    sys.exit(to_timm_main())
