"""The one kind of error a user can fix: ``dp`` prints its message as one line and exits 2.

Anything else that escapes a command is a bug and is shown with its traceback. Library code
raises a subclass of ``UserError`` for a user's mistake (an unknown product, notebook, table,
parameter or file; a service that is not running) and lets everything else propagate.
"""
from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the message says what to do."""


class UnknownName(UserError, KeyError):
    """An unknown product, notebook or table (a ``KeyError``, so ``except KeyError`` still works)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class MissingFile(UserError, FileNotFoundError):
    """A file or table the user named (or has to create first) is not there."""
