"""``python -m pipeline``: see pipeline.cli."""

import sys

from pipeline.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
