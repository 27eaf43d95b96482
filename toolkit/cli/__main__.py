"""``python -m toolkit.cli``: the ``textgen`` command, where the console script is not on the PATH (torchrun)."""

import sys

from . import main

sys.exit(main())
