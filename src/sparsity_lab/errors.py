"""The suite's own error classes: bad input from the user, printed as one line (exit code 2).

Any other exception is a bug in the suite and shows its traceback.
"""

from __future__ import annotations

from numbers import Integral


class UserError(ValueError):
    """Input the suite cannot accept; the message names the field and the allowed values."""


class ConfigError(UserError):
    """A config value outside what is allowed."""


def check_int(
    name: str, value, minimum: int, allowed: str = "", error: type[Exception] = ValueError
) -> None:
    """The one integer check: raise ``error`` (ValueError, scikit-learn's convention for a
    rejected parameter, unless told) naming ``name`` unless ``value`` is an integer (not a bool)
    >= ``minimum``; ``allowed`` names other allowed values first (e.g. ``"None or "``)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise error(
            f"{name}={value!r}: allowed values are {allowed}{' ' if allowed else ''}"
            f"integers >= {minimum}"
        )
