"""``python -m harness {test,analyze,bench}``."""

import sys

from harness.cli import main

sys.exit(main())
