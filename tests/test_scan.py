"""Warm prover pool and batch scanning."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from zkmargin import scan
from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.groth16 import verify as native_verify
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.settings import Settings
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.warm_prover import ProverPool
from zkmargin.witness import WitnessCalculator

from .conftest import FIX


def _witnesses(keys: CircuitKeys, market: Market, prices: PriceSnapshot, n: int) -> list[list[int]]:
    calc = WitnessCalculator(keys.compiled.wasm)
    out = []
    for i in range(n):
        pos = Position({"WETH": 10 * 10**18}, {"USDC": (22000 + i) * 10**6}, 1000 + i)
        out.append(calc.calculate(liquidation_inputs(pos, Market("m", market.assets), prices, 10**18).inputs))
    return out


def test_pool_proves_in_order(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot
) -> None:
    k = keys("liquidation_4")
    ws = _witnesses(k, market, prices, 4)
    with ProverPool(k, tc, size=2) as pool:
        results = pool.prove_many(ws)
    assert [pub for _, pub in results] == [[str(v) for v in w[1 : 1 + len(k.compiled.public_signals)]] for w in ws]
    assert all(native_verify(k.vkey(), pub, proof).valid for proof, pub in results)


def test_crashed_worker_is_restarted_and_no_job_is_lost(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot
) -> None:
    k = keys("liquidation_4")
    ws = _witnesses(k, market, prices, 6)
    done: list[int] = []
    killed = threading.Event()
    with ProverPool(k, dataclasses.replace(tc, prover="snarkjs"), size=2) as pool:  # node workers

        def on_done(i: int, _proof: object) -> None:
            done.append(i)
            if not killed.is_set():  # kill a live worker while jobs are still in flight
                killed.set()
                os.kill(pool.workers()[-1].pid, signal.SIGKILL)

        results = pool.prove_many(ws, on_done=on_done)
        assert pool.restarts >= 1
    assert sorted(done) == list(range(6))  # every job once
    assert [pub for _, pub in results] == [[str(v) for v in w[1 : 1 + len(k.compiled.public_signals)]] for w in ws]


def _positions_dir(tmp: Path, debts: list[int]) -> Path:
    d = tmp / "positions"
    d.mkdir()
    for i, debt in enumerate(debts):
        (d / f"p{i}.json").write_text(
            json.dumps(
                {
                    "collateral": {"WETH": str(10 * 10**18), "USDC": "5000000000"},
                    "debt": {"USDC": str(debt * 10**6)},
                    "salt": hex(77 + i),
                }
            )
        )
    return d


def test_scan_proves_liquidatable_and_resumes(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot, tmp_path: Path
) -> None:
    keys("liquidation_4")
    src = _positions_dir(tmp_path, [15000, 25000, 26000, 24000])
    out = tmp_path / "out"
    report = scan.scan(src, market, prices, out, 10**18, Settings(toolchain=tc), workers=2)
    assert {i.name: i.status for i in report.items} == {
        "p0": "healthy",
        "p1": "proven",
        "p2": "proven",
        "p3": "healthy",
    }
    assert sorted(p.name for p in out.glob("*.bundle.json")) == ["p1.bundle.json", "p2.bundle.json"]
    # an interrupted scan: one bundle lost, one damaged; a rerun redoes exactly those
    (out / "p1.bundle.json").unlink()
    (out / "p2.bundle.json").write_text("{")
    again = scan.scan(src, market, prices, out, 10**18, Settings(toolchain=tc), workers=2)
    assert {i.name: i.status for i in again.items if i.status != "healthy"} == {"p1": "proven", "p2": "proven"}
    third = scan.scan(src, market, prices, out, 10**18, Settings(toolchain=tc), workers=2)
    assert third.count("resumed") == 2 and third.count("proven") == 0
    r = CliRunner().invoke(cli, ["verify", str(out / "p2.bundle.json")])
    assert r.exit_code == 0


def test_scan_cli_reports_bad_files(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    keys("liquidation_4")
    src = _positions_dir(tmp_path, [25000])
    (src / "broken.json").write_text('{"collateral": {"DOGE": "1"}, "debt": {}, "salt": "1"}')
    out = tmp_path / "out"
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
            str(out),
            "--json",
            "--workers",
            "1",
        ],
    )
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert data["proven"] == 1 and data["errors"] == 1
    assert "collateral.DOGE" in next(p for p in data["positions"] if p["name"] == "broken")["error"]
    assert (out / "scan-report.json").exists()


def test_scan_with_hostile_files_proves_the_good_ones(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    """One hostile file among good ones: each bad file is an error item naming it, the good ones are
    proven; in a real process, since 100000 '[' used to end the whole scan with a SIGSEGV."""
    keys("liquidation_4")
    src = _positions_dir(tmp_path, [25000, 26000])
    (src / "deep.json").write_text("[" * 100_000)
    (src / "huge.json").write_text('{"collateral": {"WETH": ' + "9" * 5000 + '}, "debt": {}, "salt": "1"}')
    (src / "garbage.json").write_bytes(bytes(range(256)) * 8)
    (src / "longstring.json").write_text(json.dumps({"collateral": {"WETH": "9" * 5000}, "debt": {}, "salt": "1"}))
    os.mkfifo(src / "fifo.json")
    out = tmp_path / "out"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "zkmargin.cli.main",
            "scan",
            str(src),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(out),
            "--json",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert res.returncode == 2, res.stderr[-2000:]  # some positions unreadable; not 139
    assert "Traceback" not in res.stderr
    data = json.loads(res.stdout)
    assert data["proven"] == 2 and data["errors"] == 5
    errors = {p["name"]: p["error"] for p in data["positions"] if p["status"] == "error"}
    assert set(errors) == {"deep", "huge", "garbage", "longstring", "fifo"}
    for name, error in errors.items():
        assert f"{src / name}.json" in error
    assert "nested deeper" in errors["deep"] and "5000 digits" in errors["huge"]
    assert "UTF-8" in errors["garbage"] and "collateral.WETH" in errors["longstring"]
    assert sorted(p.name for p in out.glob("*.bundle.json")) == ["p0.bundle.json", "p1.bundle.json"]
    assert json.loads((out / "scan-report.json").read_text())["errors"] == 5


def test_positions_file_forms(market: Market, tmp_path: Path) -> None:
    one = {"collateral": {"WETH": "1"}, "debt": {}, "salt": "1"}
    (tmp_path / "list.json").write_text(json.dumps([one, one]))
    assert [n for n, _ in scan._sources(tmp_path / "list.json", market)] == ["position-00000", "position-00001"]
    (tmp_path / "named.json").write_text(json.dumps({"positions": {"alice": one}}))
    assert [n for n, _ in scan._sources(tmp_path / "named.json", market)] == ["alice"]
    (tmp_path / "evil.json").write_text(json.dumps({"positions": {"alice": one, "../x": one, ".": one}}))
    loaded = scan._sources(tmp_path / "evil.json", market)  # a bad name is one error item, never a file name
    assert [n for n, _ in loaded] == ["alice", "positions[1]", "positions[2]"]
    assert all(
        isinstance(e, InputError) and "names are" in str(e) and e.field.startswith("positions.") for _, e in loaded[1:]
    )
