"""Command-line wrapper, same as `mmmixer train`; the logic lives in mmmixer.cli.train (`python tools/train.py -h`)."""

from mmmixer.cli.train import main

if __name__ == '__main__':
    main()
