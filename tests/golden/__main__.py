"""``python -m tests.golden [CASE ...]``: regenerate the back-test's golden tables (all cases by default)."""

import sys

from tests.golden import regenerate

regenerate(sys.argv[1:] or None)
