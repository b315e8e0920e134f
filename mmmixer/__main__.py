"""``python -m mmmixer COMMAND ...``: the same front door as the ``mmmixer`` command (see mmmixer.cli.main)."""

import sys

from mmmixer.cli.main import main

sys.exit(main())
