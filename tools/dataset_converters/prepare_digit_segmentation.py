"""Write the digit segmentation set (images + label maps): ``prepare_digit_segmentation.py OUT_DIR``.

Same as `mmmixer prepare-digit-segmentation`; the logic lives in mmmixer.cli.prepare_data.
"""

from mmmixer.cli.prepare_data import digit_segmentation_main

if __name__ == '__main__':
    digit_segmentation_main()
