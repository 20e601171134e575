"""Output paths checked before any work: a command that proves for seconds and then cannot write
(or writes one output over another, or over one of its inputs) has lost the user's time or data.

Two paths are the same file when they resolve to the same place or, for files that exist, share
device and inode (hard links, symlinks, `a/../b`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError

NAME_MAX = 255  # bytes in one path component (Linux, macOS, most filesystems)
PATH_MAX = 4096  # bytes in a whole path (Linux)


def _identity(path: Path) -> tuple[object, ...]:
    # resolve first: "missing/../x" names x once the writer creates "missing"
    resolved = path.resolve()
    try:
        st = resolved.stat()
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(resolved))


def _writable_place(field: str, path: Path, directory: bool) -> None:
    raw = os.fsencode(str(path.absolute()))
    if len(raw) > PATH_MAX:
        raise InputError(field, f"path is {len(raw)} bytes long; at most {PATH_MAX}")
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise InputError(
                field, f"a path component is {len(os.fsencode(part))} bytes long; at most {NAME_MAX}: {part[:40]}..."
            )
    if path.exists() and path.is_dir() != directory:
        raise InputError(field, f"{path} is {'not ' if directory else ''}a directory")
    ancestor = path if directory and path.exists() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(field, f"{ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(field, f"{ancestor} is not writable")


def check_outputs(
    outputs: Mapping[str, Path | None],
    inputs: Mapping[str, Path | None] | None = None,
    directories: frozenset[str] = frozenset(),
) -> None:
    """InputError (naming the option) for an output that cannot be written, that is the same file
    as another output, or that would overwrite an input. `directories` names the outputs that are
    directories; an input may not live inside one of those (a scan would read its own bundles)."""
    seen: dict[tuple[object, ...], str] = {}
    for field, path in (inputs or {}).items():
        if path is not None:
            seen.setdefault(_identity(path), field)
    inputs_seen = dict(seen)
    for field, path in outputs.items():
        if path is None:
            continue
        _writable_place(field, path, field in directories)
        ident = _identity(path)
        if ident in seen:
            other = seen[ident]
            what = "the input" if ident in inputs_seen else "the output"
            raise InputError(field, f"{path} is the same file as {what} {other}: refusing to overwrite it")
        seen[ident] = field
        if field in directories:
            inside = [
                f for f, p in (inputs or {}).items() if p is not None and p.resolve().is_relative_to(path.resolve())
            ]
            if inside:
                raise InputError(field, f"{path} holds the input {inside[0]}: write the outputs elsewhere")
