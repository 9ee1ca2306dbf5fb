"""The one error type the engine raises for input it cannot use."""

from __future__ import annotations


class DriftInputError(ValueError):
    """Input the engine cannot use. The message names the file, column or field and what to do.

    Callers (the CLI, the container scripts) print the message as one line instead of a traceback.
    """
