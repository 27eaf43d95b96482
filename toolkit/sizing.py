"""Moved to `toolkit.neural.sizing` (each plugin now owns its table); an alias until textgen-toolkit 1.0.

Importing the old path warns once, naming the new path, and hands back the new module itself.
(A minimal alias: once the shared alias mechanism lands, this file becomes its two lines.)
"""

from __future__ import annotations

import sys
import warnings

from .neural import sizing

warnings.warn("toolkit.sizing has moved to toolkit.neural.sizing; import it from there (the old path is removed "
              "in textgen-toolkit 1.0)", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = sizing
