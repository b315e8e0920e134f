"""Write the digit detection set (COCO json, boxes + masks): ``prepare_digit_detection.py OUT_DIR``.

Same as `mmmixer prepare-digit-detection`; the logic lives in mmmixer.cli.prepare_data.
"""

from mmmixer.cli.prepare_data import digit_detection_main

if __name__ == '__main__':
    digit_detection_main()
