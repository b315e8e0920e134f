"""The README's main job (`make demo`, same as `mmmixer demo`); the logic lives in mmmixer.cli.demo."""

from mmmixer.cli.demo import main

if __name__ == '__main__':
    main()
