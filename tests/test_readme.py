"""The README's Python API example, and its private-pool session on a devnet, run as written."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from zkmargin import devnet, paths
from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.evm import free_port

from .conftest import REPO_ROOT


def test_python_api_example_runs(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    for c in ("liquidation_4", "attestation_4", "liquidation_step_4_v36"):
        keys(c)
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Python API\n") :]  # the top-level section, not a "#### Python API"
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    shutil.copytree(
        paths.FIXTURES_DIR, tmp_path / "fixtures", ignore=shutil.ignore_patterns("*.ptau")
    )  # the example needs the JSON files only
    (tmp_path / "example.py").write_text(code.group(1))
    res = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ), timeout=600
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("True position 0x")
    assert "repaid 7500000000 of USDC" in res.stdout
    assert (tmp_path / "liq.json").exists()


def _masked(text: str) -> list[str]:
    """Output lines with what changes from run to run (numbers, hashes, addresses, paths) masked."""
    return [re.sub(r"0x[0-9a-fA-F]+|/\S+|\d+(\.\d+)?", "#", line) for line in text.splitlines()]


def test_pool_session_runs_as_written(
    keys: Callable[[str], CircuitKeys], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's private-pool session, command by command, on a private devnet directory and
    port: each exits 0 and prints what the README shows (numbers, hashes and paths aside); the
    second `wallet show` reports more debt (30 days of interest) and a lower health factor (and
    the lower WETH price) than the first."""
    keys("pool_open_2")
    keys("pool_transition_2")
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## The private margin pool") :]
    block = re.search(r"```\n(\$ zkmargin devnet up\n.*?)```", section, re.S)
    assert block is not None
    steps: list[tuple[str, str]] = []  # (command, the output the README shows)
    for chunk in re.split(r"^\$ ", block.group(1), flags=re.M)[1:]:
        command, _, shown = chunk.partition("\n")
        steps.append((command, shown.strip("\n")))
    commands = [c for c, _ in steps]
    assert commands[0] == "zkmargin devnet up" and commands[-1] == "zkmargin devnet down"
    for needed in ("wallet init", "wallet deposit WETH", "wallet borrow USDC", "devnet time +30d", "devnet price WETH"):
        assert any(c.startswith(f"zkmargin {needed}") for c in commands), needed
    devnet_dir = tmp_path / "devnet"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZKMARGIN_DEVNET_DIR", str(devnet_dir))
    monkeypatch.setenv("ZKMARGIN_WALLET_DIR", str(tmp_path / "wallet"))
    monkeypatch.setenv("ZKMARGIN_DEVNET_PORT", str(free_port()))
    for var in ("ZKMARGIN_RPC_URL", "ZKMARGIN_PRIVATE_KEY"):
        monkeypatch.delenv(var, raising=False)
    shows = []
    try:
        for command, shown in steps:
            argv = shlex.split(command)
            assert argv[0] == "zkmargin"
            res = CliRunner().invoke(cli, ["-q", *argv[1:]])
            assert res.exit_code == 0, (command, res.output)
            assert _masked(res.stdout.strip("\n")) == _masked(shown), (command, res.stdout)
            if argv[1:3] == ["wallet", "show"]:
                shows.append(res.stdout)
    finally:
        devnet.down(devnet_dir)
    assert len(shows) == 2

    def hf(out: str) -> Decimal:
        m = re.search(r"health factor ([0-9.]+)", out)
        assert m is not None, out
        return Decimal(m.group(1))

    def usdc_debt(out: str) -> Decimal:
        m = re.search(r"USDC +supplied 0 +borrowed ([0-9.]+)", out)
        assert m is not None, out
        return Decimal(m.group(1))

    assert usdc_debt(shows[0]) == 20000 < usdc_debt(shows[1])  # interest, with no operation of the owner's
    assert hf(shows[1]) < hf(shows[0])
    assert "price 3500" in shows[0] and "price 2800" in shows[1]


def _benchmark(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/<name>.py as a module, imported as `python benchmarks/<name>.py` runs it (its
    directory first on sys.path: the benchmarks share readme_block)."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"{name}_bench", REPO_ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_crash_table_is_the_benchmarks_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keepers' crash table in the README is what benchmarks/crash.py --readme makes of
    benchmarks/crash_results.json: no figure typed by hand, none left behind by a new run."""
    crash = _benchmark("crash", monkeypatch)
    figures = json.loads((REPO_ROOT / "benchmarks" / "crash_results.json").read_text())["crash"]
    readme = (REPO_ROOT / "README.md").read_text()
    shown = readme[readme.index(crash.BEGIN) + len(crash.BEGIN) : readme.index(crash.END)]
    assert shown == "\n" + crash.report(figures)
    assert figures["healthyTouched"] == 0 and figures["eachFailingNoteLiquidatedOnce"]
    assert figures["liquidations"] == figures["failing"] and all(figures["tokensConserved"].values())


def test_pool_gas_tables_are_the_benchmarks_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's gas tables in the README ("Gas and proving") are what benchmarks/pool_gas.py
    --readme makes of benchmarks/pool_gas.json, without running the benchmark: no figure typed by
    hand, none left behind by a new run."""
    pool_gas = _benchmark("pool_gas", monkeypatch)
    figures = json.loads((REPO_ROOT / "benchmarks" / "pool_gas.json").read_text())
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### Gas and proving") : readme.index("### Simplifications against Aave v3.5")]
    shown = section[section.index(pool_gas.BEGIN) + len(pool_gas.BEGIN) : section.index(pool_gas.END)]
    assert shown == "\n" + pool_gas.report(figures)
    assert {r["operation"] for r in figures["operations"]} == {"open", "deposit", "borrow", "repay", "withdraw"}
