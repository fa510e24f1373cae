"""Shared set-up of drizzlepac-ng's tests.

Puts this folder on ``sys.path`` so that the tests can import the small
helper module :mod:`dzng_testing` (the suite runs with
``--import-mode=importlib``, which does not do it).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
