"""``python -m sop_excel``: the same as the ``sop-excel`` command."""

import sys

from sop_excel.cli import main

sys.exit(main())
