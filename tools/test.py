"""Command-line wrapper, same as `mmmixer test`; the logic lives in mmmixer.cli.test (`python tools/test.py -h`)."""

from mmmixer.cli.test import main

if __name__ == '__main__':
    main()
