"""Atomic writes, staging directories and build locks for the artifact cache.

A reader sees the old file, the whole new file, or nothing. The cache may be read-only (a
shared, pre-built cache): only building needs to write, and a write that cannot happen is a
CacheNotWritable naming the directory, never an OSError traceback.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import CacheNotWritable, LockTimeout
from .limits import LOCK_TIMEOUT
from .progress import NullProgress, Progress

_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
LOCK_POLL = 0.1  # seconds between attempts: flock has no timed wait


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fixed short prefix: the target's own name may already be at the 255-byte limit
    fd, tmp = tempfile.mkstemp(prefix=".zkmargin-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2) + "\n").encode())


@contextmanager
def cache_writes(directory: Path) -> Iterator[None]:
    """Turn an OSError saying the cache cannot be written into CacheNotWritable(directory)."""
    try:
        yield
    except OSError as e:
        if e.errno in _UNWRITABLE:
            raise CacheNotWritable(str(directory), e.strerror or str(e)) from None
        raise


def remove_stale_staging(final: Path) -> None:
    """Remove the staging directories of `final` left by processes that died while building it
    (a SIGKILL runs no cleanup). Callers hold final's build lock: a staging directory exists
    only while its builder holds that lock, so every one found now has lost its owner."""
    prefix = f".{final.name}."
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return
    for p in entries:
        if p.name.startswith(prefix) and p.name.endswith(".partial"):
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `final`; on success it is renamed to `final`.

    Call it with final's build lock held (see file_lock). On any failure (including
    KeyboardInterrupt) the staging directory is removed, so an interrupted build never leaves
    a directory a later run would trust; one left by a SIGKILL is removed by the next build.
    If another process published `final` first, ours is discarded and theirs kept."""
    with cache_writes(final.parent):
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(final)
        # the pid says whose it was to anyone looking at the cache
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _holder(fd: int) -> str:
    """The pid the current holder wrote into the lock file ("?" before it has)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "?"
    return text if text.isdigit() else "?"


@contextmanager
def file_lock(path: Path, progress: Progress | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for the block: concurrent builds of the same
    artifacts from several processes run one after the other, the later ones finding the
    earlier one's published result. A wait is reported through `progress` ("waiting for the
    build lock held by pid N") and ends with LockTimeout after `timeout` seconds. The kernel
    releases the lock when its holder dies, however it dies."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if e.errno in _UNWRITABLE:
            raise CacheNotWritable(str(path.parent), e.strerror or str(e)) from None
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _wait(fd, path, progress or NullProgress(), timeout)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait(fd: int, path: Path, progress: Progress, timeout: float) -> None:
    holder = _holder(fd)
    deadline = time.monotonic() + timeout
    with progress.step(f"waiting for the build lock held by pid {holder}"):
        while True:
            time.sleep(LOCK_POLL)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"gave up after {timeout:.0f} s waiting for the build lock {path}, held by pid "
                        f"{_holder(fd)} (another zkmargin building the same artifacts); try again when it "
                        f"has finished"
                    ) from None
