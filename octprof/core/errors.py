"""One way to say that an input is wrong: name the parameter, the value and what is allowed."""

from __future__ import annotations

from typing import Any


class OctprofError(ValueError):
    """A user-facing error: one line naming the parameter, the value and what is allowed."""


def bad(param: str, value: Any, allowed: str, hint: str | None = None) -> OctprofError:
    """Build (not raise) the error for ``param=value``; ``allowed`` says what would be accepted."""
    msg = f"{param}: got {value!r}; {allowed}"
    if hint:
        msg += f". Hint: {hint}"
    return OctprofError(msg)
