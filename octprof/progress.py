"""Progress bars for the slow commands: on stderr, and only when stderr is a terminal.

A pipe, a file or a CI log gets nothing (no carriage returns in captured output); ``OCTPROF_PROGRESS=1`` forces
the bar, ``OCTPROF_PROGRESS=0`` hides it.  tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

__all__ = ["progress", "progress_enabled"]


def progress_enabled(stream: IO[str] | None = None) -> bool:
    """Whether a bar goes to ``stream`` (default: stderr): it is a terminal, unless ``OCTPROF_PROGRESS`` says."""
    forced = os.environ.get("OCTPROF_PROGRESS", "").strip().lower()
    if forced in ("1", "yes", "true", "on"):
        return True
    if forced in ("0", "no", "false", "off"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Silent:
    """What ``progress`` gives when no bar is shown: the same calls, doing nothing."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self._iterable if self._iterable is not None else ())

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str = "") -> None:
        pass

    def set_postfix_str(self, text: str = "") -> None:
        pass

    def close(self) -> None:
        pass


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "step",
    enabled: bool | None = None,
    stream: IO[str] | None = None,
) -> Any:
    """A tqdm bar over ``iterable`` (or one to ``update`` by hand with ``total``) on ``stream`` (stderr), or a
    silent stand-in when ``enabled`` is False or, by default, when the stream is not a terminal."""
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = progress_enabled(stream)
    if not enabled:
        return _Silent(iterable)
    from tqdm import tqdm

    ncols = nrows = None  # follow the terminal's size; one that reports none (some CI ptys) gets 80 x 20
    try:
        if 0 in os.get_terminal_size(stream.fileno()):
            ncols, nrows = 80, 20
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        leave=False,
        file=stream,
        ncols=ncols,
        nrows=nrows,
        dynamic_ncols=ncols is None,
    )
