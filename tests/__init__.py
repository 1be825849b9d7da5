"""The test suite (a package, so that ``tests.conftest`` resolves here even when an installed library ships a
top-level ``tests`` package, as Ciw does)."""
