"""``python -m rivusio``: the command line interface (see :mod:`rivusio.cli`)."""

import sys

from .cli import main

sys.exit(main())
