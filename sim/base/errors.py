"""The project's own error type for anything a user gave that the tool cannot use.

Every command catches :class:`InputError` and exits 2 with its message, which names the file,
the field and what is allowed; no other exception type is expected from bad input.
"""

from __future__ import annotations


class InputError(ValueError):
    """Input the tool cannot use; the message names where it is and what is allowed."""
