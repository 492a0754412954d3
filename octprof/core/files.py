"""Files that are never damaged: atomic writes that follow symlinks and leave device nodes alone, ``-`` for
stdout, refusal of an output that is also an input, and a lock file that serialises read-modify-write updates.
Pure Python (no torch), so that light commands stay light.

- :func:`write_atomic` writes a regular file (or a new one) through a temporary file in the target's own folder,
  flushed, fsynced and renamed over it: a reader sees the old file or the whole new one.  A symlink is followed
  (its target is replaced, the link stays); a character device or a FIFO (``/dev/null``, a pipe) is written
  directly, since renaming over it would replace the node; a folder, socket or block device is refused.  The
  temporary name is short (long file names work) and is removed on any exit the process lives through: an
  exception, Ctrl-C, or SIGTERM / SIGHUP (handled while the file is written, then delivered as before).
- :func:`check_output` fails before a long run when an output cannot be written, or is the same file as an input.
- :func:`locked` holds an exclusive lock on ``PATH.lock`` (``flock``) for an update of ``PATH``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from octprof.core.errors import OctprofError, bad

STDOUT = "-"
#: Signals that remove the temporary file before the process ends (the default action then runs as before).
_CLEANUP_SIGNALS = tuple(getattr(signal, s) for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISFIFO, "a FIFO"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def target(path: str | os.PathLike[str], param: str = "--output") -> tuple[str, str]:
    """Where writing ``path`` lands and how: ``(real_path, how)`` with ``how`` one of ``"stdout"`` (``-``),
    ``"replace"`` (a regular file or a new one: atomic rename), or ``"direct"`` (a character device or FIFO:
    written in place).  A folder, socket, block device, a missing or unwritable folder is a one-line error."""
    path = os.fspath(path)
    if path == STDOUT:
        return path, "stdout"
    if not path:
        raise bad(param, path, "expected a file name, or - for standard output")
    real = os.path.realpath(path)  # follows every symlink, also a dangling one's target name
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise bad(param, path, f"cannot inspect it ({e.strerror or type(e).__name__})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            if not os.access(real, os.W_OK):
                raise bad(param, path, f"{_kind(st.st_mode)} that is not writable")
            return real, "direct"
        where = f" ({real})" if real != os.path.abspath(path) else ""
        raise bad(param, path, f"is {_kind(st.st_mode)}{where}; expected a regular file name")
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise bad(param, path, f"folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise bad(param, path, f"folder {folder!r} is not writable")
    if st is not None and not os.access(real, os.W_OK):
        raise bad(param, path, "the file is read-only")
    return real, "replace"


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two names are one file (hard links and symlinks included); ``-`` is no file."""
    a, b = os.fspath(a), os.fspath(b)
    if STDOUT in (a, b):
        return False
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_output(
    path: str | os.PathLike[str] | None, param: str = "--output", inputs: Mapping[str, Any] | None = None
) -> None:
    """Fail before any work when ``path`` cannot be written, or names the same file as one of ``inputs``
    (``{"--baseline": "b.json"}``): writing it would destroy what is being read."""
    if path is None:
        return
    target(path, param)
    for name, other in (inputs or {}).items():
        if other is not None and os.fspath(other) != STDOUT and same_file(path, other):
            raise bad(param, os.fspath(path), f"is the same file as {name}; expected a different output file")


class _Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While the block runs (main thread only), SIGTERM / SIGHUP raise :class:`_Interrupted` so that ``finally``
    clauses run; afterwards the old handlers are back and a caught signal is delivered to them again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old: dict[int, Any] = {}

    def handler(signum: int, _frame: Any) -> None:
        raise _Interrupted(signum)

    for s in _CLEANUP_SIGNALS:
        with contextlib.suppress(OSError, ValueError):
            old[s] = signal.signal(s, handler)
    caught: int | None = None
    try:
        yield
    except _Interrupted as e:
        caught = e.signum
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if caught is not None:
        os.kill(os.getpid(), caught)  # the old handler (default: end the process) now sees it
        # only reached when the old handler returns: the write did not happen, say so
        raise InterruptedError(f"interrupted by {signal.Signals(caught).name}; the file was left as it was")


def _write_direct(real: str, data: str | bytes, param: str) -> None:
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags)  # a FIFO without a reader fails at once (ENXIO) instead of blocking
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise bad(param, real, "a FIFO that no process reads; start the reader first") from None
        raise bad(param, real, f"cannot open it ({e.strerror})") from None
    with contextlib.suppress(ImportError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def write_atomic(path: str | os.PathLike[str], data: str | bytes, param: str = "--output") -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that the file is either the old one or the whole new one,
    never half.  ``-`` writes to standard output; see the module's docstring for symlinks and device nodes."""
    real, how = target(path, param)
    if how == "stdout":
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    if how == "direct":
        _write_direct(real, data, param)
        return
    folder = os.path.dirname(real)
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    with _signals_raise():
        fd, tmp = tempfile.mkstemp(prefix=".octprof-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                mode = os.stat(real).st_mode & 0o777
            except FileNotFoundError:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    with contextlib.suppress(OSError):  # the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def locked(
    path: str | os.PathLike[str], param: str = "--baseline", timeout: float = 600.0, notify: Any = None
) -> Iterator[None]:
    """Hold an exclusive lock for updating ``path`` (its real file): ``flock`` on ``PATH.lock`` in the same
    folder, waited for up to ``timeout`` seconds (``notify(message)`` is called once if it has to wait).  The
    lock file is removed when released; a waiter that locked a removed lock file tries again."""
    real = os.path.realpath(os.fspath(path))
    lock = real + ".lock"
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no serialisation, as before
        yield
        return
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise bad(param, os.fspath(path), f"cannot create the lock file {lock!r} ({e.strerror})") from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OctprofError(
                            f"{param}: {os.fspath(path)!r} is being updated by another process (lock {lock!r} "
                            f"held for over {timeout:g} s); expected it to finish. Hint: remove the lock file "
                            "if no octprof is running"
                        ) from None
                    if not told and notify is not None:
                        notify(f"waiting for another update of {os.fspath(path)} to finish ({lock})")
                        told = True
                    time.sleep(0.05)
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed this lock file as we waited on it: lock the current one
                os.close(fd)
                continue
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


__all__ = ["STDOUT", "check_output", "locked", "same_file", "target", "write_atomic"]
