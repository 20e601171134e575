"""The one way zkmargin runs external programs (node, circom2, snarkjs, solc).

argv lists only (never a shell string), the executable resolved before running,
and a failure raises CommandError carrying argv, exit code, stdout and stderr.
Callers never decide that a proof is valid from an exit code or stderr text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import CommandError, ToolchainError


def resolve(executable: str | Path) -> str:
    """An absolute path to an executable, or ToolchainError saying it is missing."""
    exe = str(executable)
    if os.sep in exe:
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return os.path.abspath(exe)
        raise ToolchainError(f"{exe} is not an executable file")
    found = shutil.which(exe)
    if found is None:
        raise ToolchainError(f"{exe} was not found on PATH")
    return found


def run(
    argv: Sequence[str | Path],
    *,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv (argv[0] resolved first); raise CommandError on a non-zero exit if check."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        cp = subprocess.run(
            args,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise CommandError(args, -1, out, err + f"\ntimed out after {timeout} s") from None
    except OSError as e:
        raise ToolchainError(f"cannot run {args[0]}: {e.strerror}") from None
    if check and cp.returncode != 0:
        raise CommandError(args, cp.returncode, cp.stdout, cp.stderr)
    return cp


def spawn(argv: Sequence[str | Path], *, cwd: str | Path | None = None) -> subprocess.Popen[bytes]:
    """Start a long-lived process (a dev node), argv[0] resolved; output discarded.

    The caller owns it and must stop it (see evm.start_anvil)."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        return subprocess.Popen(
            args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except OSError as e:
        raise ToolchainError(f"cannot start {args[0]}: {e.strerror}") from None


def spawn_pipes(argv: Sequence[str | Path]) -> subprocess.Popen[str]:
    """Start a worker that speaks line-based text on stdin/stdout (stderr discarded)."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        return subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
    except OSError as e:
        raise ToolchainError(f"cannot start {args[0]}: {e.strerror}") from None
