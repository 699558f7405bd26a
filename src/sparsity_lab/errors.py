"""The suite's own error classes: bad input from the user, printed as one line (exit code 2).

Any other exception is a bug in the suite and shows its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """Input the suite cannot accept; the message names the field and the allowed values."""


class ConfigError(UserError):
    """A config value outside what is allowed."""
