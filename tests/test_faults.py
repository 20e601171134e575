"""Faults around the inputs (issue 11): silent JSON-RPC nodes, lock waits, killed builds, the
first native compile, a read-only cache. Real sockets, real processes, real permissions."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zkmargin import build, native, paths, ptau, registry
from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.errors import LockTimeout
from zkmargin.evm import RpcChain, RpcError
from zkmargin.fsutil import file_lock
from zkmargin.limits import RPC_TIMEOUT
from zkmargin.progress import StderrProgress
from zkmargin.toolchain import Toolchain

from .conftest import FIX, REPO_ROOT
from .test_hostile_input import SYNTH_BUNDLE

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and PR_SET_PDEATHSIG")


class Recorder:
    """A Progress that remembers the steps it was shown."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.labels.append(label)
        yield


def _env(cache: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ZKMARGIN_CACHE_DIR": str(cache), **extra}


# --- JSON-RPC nodes that never answer ----------------------------------------------------------


@contextmanager
def _silent_socket() -> Iterator[str]:
    """Accepts connections on a loopback port and never writes a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(srv.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.close()
        for c in held:
            c.close()


@contextmanager
def _node_that_hangs_after_chain_id() -> Iterator[str]:
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if req["method"] != "eth_chainId":
                release.wait(60)  # every other request: no answer while the test runs
                return
            body = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": "0x7a69"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_rpc_default_timeout_is_short() -> None:
    import inspect

    assert RPC_TIMEOUT <= 10
    assert inspect.signature(RpcChain).parameters["timeout"].default == RPC_TIMEOUT


def test_silent_rpc_node_fails_within_the_timeout() -> None:
    with _silent_socket() as url:
        started = time.monotonic()
        with pytest.raises(RpcError) as e:
            RpcChain(url, timeout=0.5)
        assert time.monotonic() - started < 3  # web3's retries made this 5 x the timeout
    assert url in str(e.value) and "within 0.5 s" in str(e.value) and e.value.field == "--rpc-url"


def test_rpc_node_that_stops_answering_fails_within_the_timeout() -> None:
    with _node_that_hangs_after_chain_id() as url:
        chain = RpcChain(url, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(RpcError, match="eth_call"):
            chain.call("0x" + "11" * 20, b"\x00")
        with pytest.raises(RpcError, match="eth_getBlockByNumber"):
            chain.timestamp()
        assert time.monotonic() - started < 5


def test_cli_rpc_timeout(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(SYNTH_BUNDLE))
    with _silent_socket() as url:
        started = time.monotonic()
        res = CliRunner().invoke(cli, ["verify", str(bundle), "--rpc-url", url, "--rpc-timeout", "1", "--json"])
        assert time.monotonic() - started < 6
    assert res.exit_code == 2, res.output
    out = json.loads(res.stdout)
    assert out["field"] == "--rpc-url" and url in out["error"]
    res = CliRunner().invoke(cli, ["verify", str(bundle), "--rpc-url", "http://127.0.0.1:1", "--rpc-timeout", "0"])
    assert res.exit_code == 2 and "--rpc-timeout" in res.output


# --- lock waits ------------------------------------------------------------------------------

_HOLD = (
    "import sys, time; from pathlib import Path; from zkmargin.fsutil import file_lock\n"
    "with file_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(float(sys.argv[2]))\n"
)


@contextmanager
def _held_lock(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path), str(seconds)], env=_env(path.parent), stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        yield p
    finally:
        p.kill()
        p.wait()
        if p.stdout is not None:
            p.stdout.close()


def test_lock_wait_is_reported_and_times_out(tmp_path: Path) -> None:
    lock = tmp_path / ".x.lock"
    with _held_lock(lock, 60) as holder:
        rec = Recorder()
        started = time.monotonic()
        with pytest.raises(LockTimeout, match=f"held by pid {holder.pid}"):
            with file_lock(lock, rec, timeout=0.5):
                pytest.fail("the lock is held by another process")
        assert 0.4 < time.monotonic() - started < 5
    assert rec.labels == [f"waiting for the build lock held by pid {holder.pid}"]


def test_lock_wait_ends_when_the_holder_releases(tmp_path: Path) -> None:
    lock = tmp_path / ".x.lock"
    out = io.StringIO()
    with _held_lock(lock, 1) as holder:
        with file_lock(lock, StderrProgress(out), timeout=60):
            pass
    assert out.getvalue().startswith(f"waiting for the build lock held by pid {holder.pid} ... done (")


# --- a build killed with SIGKILL -------------------------------------------------------------

_SETUP = (
    "from zkmargin import build, registry; from zkmargin.toolchain import Toolchain\n"
    "tc = Toolchain.discover(); build.setup_circuit(build.compile_circuit(registry.get('liquidation_4'), tc), tc)\n"
)


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(d.name), cmd))
    return out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie waits for its reaper: it runs nothing


def _wait_for(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@linux_only
def test_killed_setup_leaves_no_process_and_no_staging_dir(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    compiled = keys("liquidation_4").compiled.dir  # compiled already: the child goes straight to the setup
    dst = cache / "liquidation_4" / compiled.name
    shutil.copytree(compiled, dst, ignore=shutil.ignore_patterns("setup-*", "installed-*"))
    env = _env(cache, ZKMARGIN_PROVER="snarkjs")

    # 1. SIGKILL the builder while `snarkjs groth16 setup` runs: the kernel takes the child with it
    a = subprocess.Popen([sys.executable, "-c", _SETUP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def snarkjs_child() -> int | None:  # `snarkjs groth16 setup` (or the contribution after it)
        found = [pid for pid, cmd in _children(a.pid) if "snarkjs" in cmd]
        return found[0] if found and list(dst.glob(".setup-*.partial")) else None

    child = _wait_for(snarkjs_child, 120, "the setup to start")
    assert os.getpgid(child) == child  # its own process group, so that it can be killed with what it started
    a.send_signal(signal.SIGKILL)
    a.wait()
    _wait_for(lambda: _gone(child), 10, f"node {child} to die with its parent")
    assert list(dst.glob(".setup-*.partial"))  # a SIGKILL runs no cleanup

    # 2. the next build waits for the lock (saying so), then removes the dead build's staging dir
    final = paths.setup_dir(dst, ptau.inspect(paths.DEV_PTAU).sha256, tc.version("solc"))
    log = tmp_path / "build.log"
    with file_lock(dst.parent / f".{final.name}.lock"):
        with open(log, "w") as err:
            b = subprocess.Popen(
                [sys.executable, "-m", "zkmargin.cli.main", "build", "liquidation_4"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        _wait_for(
            lambda: f"waiting for the build lock held by pid {os.getpid()}" in log.read_text(),
            60,
            "the second build to report its wait",
        )
    assert b.wait(timeout=600) == 0, log.read_text()
    assert "Groth16 setup" in log.read_text() and "Traceback" not in log.read_text()
    assert not list(cache.rglob("*.partial"))
    assert build._intact(final) is not None


# --- the first native compile is reported ----------------------------------------------------


def _fake_cc(d: Path) -> Path:
    """Answers --version and writes something (not a library) to -o: the compile is what is tested."""
    cc = d / "fakecc"
    cc.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo "fakecc 1.0"; exit 0; fi\nsleep 0.2\n'
        'while [ $# -gt 0 ]; do if [ "$1" = -o ]; then shift; echo not-elf > "$1"; fi; shift; done\n'
    )
    cc.chmod(0o755)
    return cc


def test_native_compile_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", str(_fake_cc(tmp_path)))
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path / "cache"))
    out = io.StringIO()
    lib = native._library_path(StderrProgress(out))
    assert lib.read_text() == "not-elf\n"
    assert out.getvalue().startswith("compiling the native prover with fakecc ... done (")
    again = Recorder()
    assert native._library_path(again) == lib and again.labels == []  # built once


@pytest.mark.node  # doctor checks the node toolchain before the compiler
def test_first_doctor_is_not_silent(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "zkmargin.cli.main", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path / "cache", CC=str(_fake_cc(tmp_path))),
    )
    assert "compiling the native prover with fakecc ... done (" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert "snarkjs" in res.stdout  # the fake library does not load: auto falls back


# --- a read-only cache -----------------------------------------------------------------------

_DROP_WRITE_OVERRIDE = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _unprivileged(argv: list[str]) -> list[str]:
    """argv run so that file permissions bind it: root ignores them unless it drops CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a directory read-only for a child")
    return [*_DROP_WRITE_OVERRIDE, *argv]


def _chmod_tree(root: Path, writable: bool) -> None:
    for d, dirs, files in os.walk(root):
        for p in [Path(d) / n for n in files] + [Path(d)]:
            mode = p.stat().st_mode
            p.chmod(
                (mode | stat.S_IWUSR | stat.S_IRUSR)
                if writable
                else (mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) | stat.S_IRUSR
            )


def test_read_only_cache(keys: Callable[[str], CircuitKeys], isolated_cache: Path, tmp_path: Path) -> None:
    k = keys("liquidation_4")
    native.available()  # the library too, when this machine can build it
    ro = tmp_path / "cache"
    shutil.copytree(
        k.compiled.dir, ro / "liquidation_4" / k.compiled.dir.name, ignore=shutil.ignore_patterns("*.partial")
    )
    for extra in ("native", "solidity"):
        if (isolated_cache / extra).is_dir():
            shutil.copytree(isolated_cache / extra, ro / extra, ignore=shutil.ignore_patterns("*.partial", "*.lock"))
    out = tmp_path / "out"
    out.mkdir()
    env = _env(ro)

    def zk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _unprivileged([sys.executable, "-m", "zkmargin.cli.main", *args]),
            env=env,
            cwd=out,
            capture_output=True,
            text=True,
            timeout=600,
        )

    _chmod_tree(ro, writable=False)
    try:
        probe = subprocess.run(
            _unprivileged([sys.executable, "-c", f"open({str(ro / 'probe')!r}, 'w')"]), capture_output=True, text=True
        )
        assert probe.returncode != 0 and "Permission" in probe.stderr  # the child really cannot write there
        # complete artifacts: proving and verifying (also on the EVM: solidity/ not written) just work
        res = zk(
            "prove",
            str(FIX / "position-liquidatable.json"),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(out / "b.json"),
        )
        assert res.returncode == 0, res.stderr
        for args in (["verify", str(out / "b.json")], ["verify", str(out / "b.json"), "--onchain"]):
            res = zk(*args)
            assert res.returncode == 0 and "VALID" in res.stdout, res.stderr
        # what must be built cannot be: exit 2 naming the directory, no traceback
        res = zk("build", "attestation_4")
        assert res.returncode == 2, res.stderr
        assert f"{ro}" in res.stderr and "not writable" in res.stderr and "Traceback" not in res.stderr
    finally:
        _chmod_tree(ro, writable=True)
    assert not list(ro.rglob("*.partial")) and not (ro / "attestation_4").exists()


def test_a_finished_build_is_read_without_the_lock(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    """The lock is for building: a finished build is read without it (nobody waits to read)."""
    k = keys("liquidation_4")
    circuit_dir = k.compiled.dir.parent
    got: list[CircuitKeys] = []
    # held by someone else (another build of a new artifact, say): reading must not wait for them
    with file_lock(circuit_dir / f".{k.compiled.dir.name}.lock"), file_lock(circuit_dir / f".{k.dir.name}.lock"):
        t = threading.Thread(target=lambda: got.append(build.build(registry.get("liquidation_4"), tc)), daemon=True)
        t.start()
        t.join(timeout=30)
        assert not t.is_alive(), "reading a finished build waited for the build lock"
    assert got[0].dir == k.dir
