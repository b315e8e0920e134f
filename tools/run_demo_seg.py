"""The segmentation demo (`make demo-seg`, same as `mmmixer demo-seg`); the logic lives in mmmixer.cli.demo_seg."""

from mmmixer.cli.demo_seg import main

if __name__ == '__main__':
    main()
