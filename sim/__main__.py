"""``python -m sim``: see :mod:`sim.apps.cli`."""

from sim.apps.cli import main

raise SystemExit(main())
