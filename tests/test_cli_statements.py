"""CLI commands of the other statements: liquidate (step), perp health/prove/attest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.loaders import load_market, load_position

from .conftest import FIX

MARKET, PRICES = str(FIX / "market.json"), str(FIX / "prices.json")
PERP = ["--markets", str(FIX / "perp-markets.json"), "--prices", str(FIX / "perp-prices.json")]


def test_liquidate_command(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    keys("liquidation_step_4_v36")  # its constraint count is pinned in tests/test_conformance.py
    r = CliRunner()
    out, new = tmp_path / "step.json", tmp_path / "new.json"
    args = [
        "liquidate",
        str(FIX / "position-liquidatable.json"),
        "--market",
        MARKET,
        "--prices",
        PRICES,
        "--collateral-asset",
        "WETH",
        "--debt-asset",
        "USDC",
        "-o",
        str(out),
        "--new-position",
        str(new),
    ]
    res = r.invoke(cli, [*args, "--debt-to-cover", "max", "--json"])
    assert res.exit_code == 0, res.output
    claim = json.loads(res.stdout)["claim"]
    assert claim["debtRepaid"] == "12500000000"  # close factor: 50% of the 25000 USDC debt
    market = load_market(FIX / "market.json")
    after = load_position(new, market)
    assert after.debt == {"USDC": 12500 * 10**6}
    assert r.invoke(cli, ["verify", str(out)]).exit_code == 0
    res = r.invoke(cli, ["health", str(new), "--market", MARKET, "--prices", PRICES])
    assert res.exit_code == 1  # healthy again after the call
    for bad, field in ((["--debt-to-cover", "-5"], "--debt-to-cover"), (["--debt-to-cover", "1.5"], "--debt-to-cover")):
        res = r.invoke(
            cli, [*args[:-4], "-o", str(tmp_path / "x.json"), "--new-position", str(tmp_path / "y.json"), *bad]
        )
        assert res.exit_code == 2 and field in res.output
        assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
    res = r.invoke(
        cli,
        [
            "liquidate",
            str(FIX / "position-healthy.json"),
            "--market",
            MARKET,
            "--prices",
            PRICES,
            "--collateral-asset",
            "WETH",
            "--debt-asset",
            "USDC",
            "--debt-to-cover",
            "1",
            "-o",
            str(tmp_path / "h.json"),
            "--new-position",
            str(tmp_path / "hn.json"),
        ],
    )
    assert res.exit_code == 1 and "1.635" in res.output and not (tmp_path / "h.json").exists()


def test_perp_commands(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    keys("perp_liquidation_4")
    r = CliRunner()
    liq, healthy = str(FIX / "perp-account-liquidatable.json"), str(FIX / "perp-account-healthy.json")
    assert r.invoke(cli, ["perp", "health", liq, *PERP]).exit_code == 0
    assert r.invoke(cli, ["perp", "health", healthy, *PERP]).exit_code == 1
    out = tmp_path / "p.json"
    res = r.invoke(cli, ["perp", "prove", liq, *PERP, "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["claim"]["markets"][1]["fundingIndex"] == "-98765"
    assert r.invoke(cli, ["verify", str(out), "--backend", "snarkjs"]).exit_code == 0
    res = r.invoke(cli, ["perp", "prove", healthy, *PERP, "-o", str(tmp_path / "no.json")])
    assert res.exit_code == 1 and not (tmp_path / "no.json").exists()
    res = r.invoke(cli, ["perp", "attest", healthy, *PERP, "--ratio", "1.5", "--domain", "d", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert r.invoke(cli, ["verify", str(out), "--domain", "d"]).exit_code == 0
    res = r.invoke(cli, ["perp", "attest", healthy, *PERP, "--ratio", "1.23456", "--domain", "d", "-o", str(out)])
    assert res.exit_code == 2 and "--ratio" in res.output
