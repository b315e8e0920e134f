"""The detection demo (`make demo-det`, same as `mmmixer demo-det`); the logic lives in mmmixer.cli.demo_det."""

from mmmixer.cli.demo_det import main

if __name__ == '__main__':
    main()
