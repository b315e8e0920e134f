"""Write scikit-learn's digits as an ImageNet-style folder tree: ``prepare_digits.py OUT_DIR``.

Same as `mmmixer prepare-digits`; the logic lives in mmmixer.cli.prepare_data.
"""

from mmmixer.cli.prepare_data import digits_main

if __name__ == '__main__':
    digits_main()
