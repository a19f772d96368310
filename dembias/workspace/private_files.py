"""Files dembias writes: private to their owner, flushed to disk, zero-filled before a sensitive copy goes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: The umask of dembias processes (the CLI, the dashboard): files they create are their owner's only.
PRIVATE_UMASK = 0o077


def use_private_umask() -> int:
    """Make every file and folder this process creates private to its user; returns the previous umask.

    The workspace holds contributions, pseudonymised votes and audit notes: another local user must not
    read them (they were 0644). Called by the console script and the dashboard; library callers get
    private modes on the files dembias writes itself (:func:`private_dir`, ``chmod 0600``) either way.
    """
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only (0700) when missing; returns it."""
    if not path.is_dir():
        for parent in reversed([path, *path.parents]):
            if not parent.exists():
                with contextlib.suppress(FileExistsError):
                    parent.mkdir(mode=0o700)
    return path


def zero_fill(path: Path) -> None:
    """Overwrite a file's bytes with zeros (a best effort before deleting a copy that held redacted values)."""
    try:
        with open(path, "r+b") as handle:
            size, chunk = os.fstat(handle.fileno()).st_size, b"\0" * (1 << 20)
            for _ in range(0, size, len(chunk)):
                handle.write(chunk)
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        pass


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (so that a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
