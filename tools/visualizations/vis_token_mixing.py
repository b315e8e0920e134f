"""Draw a block's token-mixing units as image-grid filters.

python tools/visualizations/vis_token_mixing.py CHECKPOINT --out units.png [--block 0] [--units 64]

Same as `mmmixer vis-token-mixing`; the logic lives in mmmixer.cli.vis_token_mixing.
"""

from mmmixer.cli.vis_token_mixing import main

if __name__ == '__main__':
    main()
