"""``python -m flows.model_packaging``: see :mod:`flows.model_packaging.cli`."""

from __future__ import annotations

import sys

from flows.model_packaging.cli import main

sys.exit(main())
