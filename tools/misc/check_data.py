"""List the images of a config's data set that cannot be decoded, before a long run meets them.

python tools/misc/check_data.py configs/mixer-b16_in1k.py [--split train|val|test] [--workers N]

Same as `mmmixer check-data`; the logic lives in mmmixer.cli.check_data.
"""

from mmmixer.cli.check_data import main

if __name__ == '__main__':
    raise SystemExit(main())
