"""The one way zkmargin runs external programs (node, circom2, snarkjs, solc).

argv lists only (never a shell string), the executable resolved before running,
and a failure raises CommandError carrying argv, exit code, stdout and stderr.
Callers never decide that a proof is valid from an exit code or stderr text.

A child never outlives the call that needs it: it runs in its own process group, which
is killed on a timeout or an exception (KeyboardInterrupt included), and on Linux the
kernel kills it (PR_SET_PDEATHSIG) when the thread that started it dies, even by SIGKILL,
which runs none of our cleanup: a killed build leaves no `snarkjs groth16 setup` running.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import CommandError, ToolchainError

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# resolved once here: the child between fork and exec should do as little as possible
_PRCTL = _load_prctl()


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when the starting thread ends.

    The kernel ties the signal to the thread, not the process: only a thread that stays
    alive while its child runs (run() waits for it; see spawn) may use it."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent, kill = os.getpid(), int(signal.SIGKILL)

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return setup


def _kill_group(p: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the child's process group (the child and whatever it started)."""
    try:
        os.killpg(p.pid, sig)  # process_group=0 made the child the leader: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


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
        p = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            process_group=0,
            preexec_fn=_die_with_parent(),
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolchainError(f"cannot run {args[0]}: {getattr(e, 'strerror', None) or e}") from None
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        out, err = _drain(p)
        raise CommandError(args, -1, out, err + f"\ntimed out after {timeout} s") from None
    except BaseException:  # KeyboardInterrupt above all: the child must not outlive the call
        _kill_group(p)
        _drain(p)
        raise
    if check and p.returncode != 0:
        raise CommandError(args, p.returncode, out, err)
    return subprocess.CompletedProcess(args, p.returncode, out, err)


def _drain(p: subprocess.Popen[str]) -> tuple[str, str]:
    """Output of a killed child; bounded, in case something outside its group holds the pipes."""
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return out or "", err or ""


def spawn(argv: Sequence[str | Path], *, cwd: str | Path | None = None) -> subprocess.Popen[bytes]:
    """Start a long-lived process (a dev node), argv[0] resolved; output discarded.

    The caller owns it and must end it with stop(), from the thread that started it (the
    process dies with that thread: see _die_with_parent)."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent(),
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolchainError(f"cannot start {args[0]}: {getattr(e, 'strerror', None) or e}") from None


def stop(p: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """End a spawn()ed process and everything it started (its process group): SIGTERM, then
    SIGKILL after `timeout` seconds."""
    _kill_group(p, signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        p.wait()
    _kill_group(p)  # whatever of the group outlived its leader


def spawn_pipes(argv: Sequence[str | Path]) -> subprocess.Popen[str]:
    """Start a worker that speaks line-based text on stdin/stdout (stderr discarded).

    It ends when its stdin closes, which the kernel does when we die, however we die; no
    PR_SET_PDEATHSIG, since pool threads that start workers end before the workers do."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        return subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
    except OSError as e:
        raise ToolchainError(f"cannot start {args[0]}: {e.strerror}") from None


# --- daemons: processes that outlive the command that started them (the devnet's node) ---

# Popen objects of the daemons this process started, so that liveness checks reap them once they
# exit (a zombie child still counts for kill(pid, 0) and killpg(pgid, 0)).
_DAEMONS: dict[int, subprocess.Popen[bytes]] = {}


def spawn_daemon(argv: Sequence[str | Path], *, log: Path, cwd: str | Path | None = None) -> int:
    """Start a process that outlives this one (a dev node kept running between commands): its
    own session and process group (pgid == pid), no death signal, stdin from /dev/null, stdout
    and stderr to `log` (truncated: it tells about this run). Returns its pid; end it with
    stop_daemon()."""
    args = [resolve(argv[0]), *(str(a) for a in argv[1:])]
    try:
        with open(log, "wb") as out:
            p = subprocess.Popen(
                args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolchainError(f"cannot start {args[0]}: {getattr(e, 'strerror', None) or e}") from None
    _DAEMONS[p.pid] = p
    return p.pid


def _reap() -> None:
    for pid, p in list(_DAEMONS.items()):
        if p.poll() is not None:
            del _DAEMONS[pid]


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_start(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot, Linux) so that a recorded pid is not mistaken
    for a later process given the same number; None where /proc does not say, or for a zombie."""
    _reap()
    fields = _proc_stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def daemon_alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` runs (not a zombie) and, when `started` is given and /proc tells, is the
    process that started then."""
    _reap()
    fields = _proc_stat(pid)
    if fields is not None:
        return fields[0] not in ("Z", "X") and (started is None or int(fields[19]) == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    _reap()
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if entry.name.isdigit():
                fields = _proc_stat(int(entry.name))
                if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                    return True
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_daemon(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM to the daemon's process group, then wait until every process of the group has
    exited (a node dumps its state on SIGTERM); SIGKILL after `timeout` seconds. True when it
    ended on SIGTERM."""
    if not _group_alive(pid):
        return True
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while _group_alive(pid):
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 5.0
            while _group_alive(pid) and time.monotonic() < end:
                time.sleep(0.05)
            return False
        time.sleep(0.05)
    return True
