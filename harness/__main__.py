"""``python -m harness {test,analyze,report,bench}``."""

import sys

from harness.cli import main

sys.exit(main())
