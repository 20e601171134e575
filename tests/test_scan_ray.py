"""`zkmargin scan --ray`: proving on a Ray cluster (zkmargin/ray_prover.py).

A real cluster, `ray start --head` on 127.0.0.1 with its own port, token and session, started
once for the module and ended with every process of its session. The scan through it gives the
same bundles as the local pool, all valid under the installed keys; a prover actor killed with
SIGKILL mid-scan is restarted by Ray and its positions retried: each still ends with exactly one
bundle. Without Ray installed, only the test of the error message runs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin import api, groth16_fast, ray_prover, scan
from zkmargin.build import CircuitKeys
from zkmargin.bundle import load_bundle
from zkmargin.cli.main import cli
from zkmargin.errors import ArtifactError, ClusterError
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator

from .conftest import FIX
from .test_scan import _positions_dir

# Ray reads these when it is first imported, so they are set here for this process (they only
# concern Ray): the node address 127.0.0.1 (Ray's switch for a cluster on one machine), so that
# the driver reaches the test cluster there, and token authentication with a token of our own
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(16),
}
for _k, _v in RAY_ENV.items():
    os.environ.setdefault(_k, _v)
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install -e '.[dev]' brings it)"
)
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session(sid: int) -> list[int]:
    """Every process of a session (the cluster's: `ray start` and everything it spawned)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getsid(int(d.name)) == sid:
                    out.append(int(d.name))
            except OSError:  # exited meanwhile
                pass
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a private Ray cluster: 2 CPUs, 127.0.0.1 only, its own token."""
    ray_bin = Path(sys.executable).parent / "ray"
    port = _free_port()
    argv = [
        str(ray_bin),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
    ]
    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # RAY_ENV too
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"ray start failed: {log.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:  # a throwaway cluster: no graceful stop needed (`ray start --block` is slow to take one)
            for pid in _session(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            proc.wait(timeout=30)


def _bundles(out: Path) -> dict[str, list[str]]:
    return {p.name: load_bundle(p).public_signals for p in sorted(out.glob("*.bundle.json"))}


def test_ray_missing_is_a_clear_error(market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is not installed
    src = _positions_dir(tmp_path, [25000])
    res = CliRunner().invoke(
        cli,
        [
            "scan",
            str(src),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(tmp_path / "out"),
            "--ray",
            "auto",
            "--json",
        ],
    )
    assert res.exit_code == 2
    err = json.loads(res.stdout)
    assert err["type"] == "RayNotInstalled" and "pip install 'zkmargin[ray]'" in err["error"]
    assert not (tmp_path / "out").exists()  # said before any work


@needs_ray
def test_ray_unreachable_address(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    keys("liquidation_4")
    src = _positions_dir(tmp_path, [25000])
    res = CliRunner().invoke(
        cli,
        [
            "scan",
            str(src),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(tmp_path / "out"),
            "--ray",
            f"127.0.0.1:{_free_port()}",
            "--json",
        ],
    )
    assert res.exit_code == 2
    assert "no Ray cluster answers at 127.0.0.1:" in json.loads(res.stdout)["error"]


@needs_ray
def test_scan_through_ray_equals_local_pool(
    cluster: str,
    keys: Callable[[str], CircuitKeys],
    tc: Toolchain,
    market: Market,
    prices: PriceSnapshot,
    tmp_path: Path,
) -> None:
    keys("liquidation_4")
    src = _positions_dir(tmp_path, [15000, 25000, 26000, 27000])
    res = CliRunner().invoke(
        cli,
        [
            "scan",
            str(src),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(tmp_path / "ray"),
            "--ray",
            cluster,
            "--workers",
            "2",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output[-3000:]
    data = json.loads(res.stdout)  # Ray wrote nothing on stdout
    assert (data["proven"], data["healthy"], data["errors"]) == (3, 1, 0)
    assert "actor on 127.0.0.1" in res.stderr and "key read from the shared path" in res.stderr
    local = scan.scan(src, market, prices, tmp_path / "local", 10**18, Settings(toolchain=tc), workers=2)
    assert local.count("proven") == 3
    ray_bundles, local_bundles = _bundles(tmp_path / "ray"), _bundles(tmp_path / "local")
    assert ray_bundles == local_bundles and len(ray_bundles) == 3  # same positions, same public signals
    installed = InstalledKeys(tc)
    for p in sorted((tmp_path / "ray").glob("*.bundle.json")):
        assert api.verify_bundle(load_bundle(p), keys=installed).valid, p
    # a rerun through Ray resumes: nothing is proven again
    again = CliRunner().invoke(
        cli,
        [
            "scan",
            str(src),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(tmp_path / "ray"),
            "--ray",
            cluster,
            "--json",
        ],
    )
    assert json.loads(again.stdout)["resumed"] == 3


@needs_ray
def test_killing_a_ray_worker_mid_scan_loses_no_position(
    cluster: str,
    keys: Callable[[str], CircuitKeys],
    tc: Toolchain,
    market: Market,
    prices: PriceSnapshot,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    keys("liquidation_4")
    debts = [25000 + 250 * i for i in range(6)] + [15000]
    src = _positions_dir(tmp_path, debts)
    status = io.StringIO()
    settled: list[str] = []
    killed: list[int] = []
    sid = os.getsid(0)

    def on_item(item: scan.ScanItem) -> None:
        settled.append(item.name)
        if item.status == "proven" and not killed:  # others are in flight on the actor right now
            pid = int(re.findall(r"actor on 127\.0\.0\.1 \(pid (\d+)\)", status.getvalue())[0])
            assert os.getsid(pid) != sid  # a process of the test cluster, never this one
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    out = tmp_path / "out"
    report = scan.scan(
        src,
        market,
        prices,
        out,
        10**18,
        Settings(toolchain=tc),
        workers=2,
        ray=cluster,
        ray_status=status,
        on_item=on_item,
    )
    log = status.getvalue()
    assert killed and f"pid {killed[0]})" in log
    assert "its jobs are retried" in log and re.search(rf"restarted \(pid {killed[0]} -> \d+\)", log), log
    liquidatable = [f"p{i}" for i in range(6)]
    assert sorted(settled) == sorted([*liquidatable, "p6"])  # every position settled exactly once
    assert {i.name: i.status for i in report.items} == {**{n: "proven" for n in liquidatable}, "p6": "healthy"}
    assert sorted(p.name for p in out.glob("*.bundle.json")) == sorted(f"{n}.bundle.json" for n in liquidatable)
    written = json.loads((out / scan.REPORT).read_text())
    assert (written["scanned"], written["proven"], written["healthy"]) == (7, 6, 1)
    installed = InstalledKeys(tc)
    assert all(api.verify_bundle(load_bundle(out / f"{n}.bundle.json"), keys=installed).valid for n in liquidatable)
    # Ray's word of the dead worker is a diagnostic: never on stdout, where `scan --json` reports
    printed = capfd.readouterr()
    assert "worker died" not in printed.out


def test_artifact_found_by_path_or_installed_by_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "circuit.zkey").write_bytes(b"key bytes")
    art = ray_prover.Artifact.of(tmp_path / "circuit.zkey")
    assert art.here() == (tmp_path / "circuit.zkey", "path")
    elsewhere = dataclasses.replace(art, path=str(tmp_path / "not-on-this-node" / "circuit.zkey"))
    assert elsewhere.here() is None  # a node without the driver's files: the bytes are sent
    with pytest.raises(ArtifactError, match="does not match sha256"):
        elsewhere.install(b"other bytes")
    assert elsewhere.install(b"key bytes") == elsewhere.cached()
    assert elsewhere.here() == (elsewhere.cached(), "cache")  # where a restarted actor finds them
    (tmp_path / "circuit.zkey").write_bytes(b"a new key at the same path")
    assert art.here() == (elsewhere.cached(), "cache")  # never the changed file at the path


@needs_ray
def test_auto_local_instance_key_sent_as_bytes_witness_on_the_driver(
    keys: Callable[[str], CircuitKeys], market: Market, prices: PriceSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "auto": a private instance on 127.0.0.1, ended with the pool. Workers that do not see the
    driver's files get the bytes; the witness computed here."""
    k = keys("liquidation_4")
    of = ray_prover.Artifact.of

    def elsewhere(path: Path) -> ray_prover.Artifact:  # as if the driver's paths were not on the node
        return dataclasses.replace(of(path), path=f"/nonexistent/zkmargin-driver/{path.name}")

    monkeypatch.setattr(ray_prover.Artifact, "of", staticmethod(elsewhere))
    for art in (of(k.zkey), of(k.compiled.wasm)):  # the workers share this cache: no earlier install
        art.cached().unlink(missing_ok=True)
    inputs = [
        liquidation_inputs(
            Position({"WETH": 10 * 10**18}, {"USDC": (22000 + i) * 10**6}, 1000 + i), market, prices, 10**18
        ).inputs
        for i in range(3)
    ]
    calc = WitnessCalculator(k.compiled.wasm)
    n_public = int(k.vkey()["nPublic"])  # the public signals are witness wires 1..nPublic
    expected = [[str(v) for v in calc.calculate(i)[1 : 1 + n_public]] for i in inputs]
    status = io.StringIO()
    with ray_prover.RayProverPool(k, "auto", threads=2, witness="driver", status=status) as pool:
        results = pool.prove_many(inputs)
    assert "actor on 127.0.0.1" in status.getvalue() and "key sent as bytes" in status.getvalue()
    assert not sys.modules["ray"].is_initialized()  # the instance ended with the pool
    assert [pub for _, pub in results] == expected
    prepared = groth16_fast.PreparedKey(k.vkey())
    assert all(groth16_fast.verify(prepared, pub, proof).valid for proof, pub in results)


@needs_ray
def test_a_job_past_its_timeout_restarts_the_actor_and_is_retried_once(
    cluster: str, keys: Callable[[str], CircuitKeys], market: Market, prices: PriceSnapshot
) -> None:
    k = keys("liquidation_4")
    inputs = [
        liquidation_inputs(
            Position({"WETH": 10 * 10**18}, {"USDC": 22000 * 10**6}, 1000), market, prices, 10**18
        ).inputs
    ]
    status = io.StringIO()
    with ray_prover.RayProverPool(k, cluster, threads=1, status=status, job_timeout=0.01) as pool:
        with pytest.raises(ClusterError, match="a proof failed twice on the Ray cluster"):
            pool.prove_many(inputs)  # no proof takes 10 ms: each try is a hung actor, killed
        assert pool.restarts == 1 and pool.retried == 1
    assert status.getvalue().count("a proof took over 0.01 s; restarting it") == 2


def test_witness_traps_stay_exceptions_after_ray(
    cluster: str,
    keys: Callable[[str], CircuitKeys],
    tc: Toolchain,
    market: Market,
    prices: PriceSnapshot,
    tmp_path: Path,
) -> None:
    """A circuit witness that divides by zero traps in wasmtime, which reports it as an exception
    through its signal handler. Once Ray has run in the process, its handlers (absl's, Python's
    faulthandler) must not stand in front of wasmtime's: that trap ended the whole process (SIGFPE)."""
    import wasmtime

    src = _positions_dir(tmp_path, [25000, 26000])
    scan.scan(src, market, prices, tmp_path / "out", 10**18, Settings(toolchain=tc), workers=1, ray=cluster)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wat = '(module (func (export "f") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))'
    div = wasmtime.Instance(store, wasmtime.Module(engine, wat), []).exports(store)["f"]
    with pytest.raises(wasmtime.Trap):
        div(store, 0)  # type: ignore[operator]
