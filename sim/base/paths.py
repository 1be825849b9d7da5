"""Where the package and the project's folders are, whatever the working directory."""

from __future__ import annotations

from pathlib import Path

#: the ``sim`` package folder
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: the project folder (scenarios/, calibration/, docs/, results/ beside sim/)
PROJECT_DIR = PACKAGE_DIR.parent
