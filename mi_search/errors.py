"""One exception for everything a user can get wrong; the CLI prints its message as one line, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input. The message names the problem and the fix."""
