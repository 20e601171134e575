"""Every bad input gives exit code 2, a message naming the field, and no bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.field import R
from zkmargin.loaders import parse_threshold

from .conftest import FIX


def _load(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def _run_prove(
    runner: CliRunner,
    tmp: Path,
    *,
    position: Any = None,
    market: Any = None,
    prices: Any = None,
    threshold: str = "1.0",
    raw: dict[str, str] | None = None,
) -> tuple[int, str, Path]:
    files = {}
    for name, obj, default in (
        ("position", position, "position-liquidatable.json"),
        ("market", market, "market.json"),
        ("prices", prices, "prices.json"),
    ):
        p = tmp / f"{name}.json"
        if raw and name in raw:
            p.write_text(raw[name])
        else:
            p.write_text(json.dumps(obj if obj is not None else _load(default)))
        files[name] = p
    out = tmp / "bundle.json"
    res = runner.invoke(
        cli,
        [
            "prove",
            str(files["position"]),
            "--market",
            str(files["market"]),
            "--prices",
            str(files["prices"]),
            "--threshold",
            threshold,
            "-o",
            str(out),
        ],
    )
    return res.exit_code, res.output, out


def _with(doc: Any, path: list[Any], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    if value is _DELETE:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return doc


_DELETE = object()


def _case_id(case: tuple[object, ...]) -> str:
    """The same id in every process (pytest-xdist workers must collect the same names):
    never an object's repr, which carries its address."""
    value = "<deleted>" if case[2] is _DELETE else repr(case[2])
    return f"{case[0]}:{case[3]}={value}"[:60]


POS = _load("position-liquidatable.json")
MKT = _load("market.json")
PRC = _load("prices.json")

CASES = [
    # (what to edit, path, value, field named in the message)
    ("position", ["collateral", "WETH"], "-1", "collateral.WETH"),
    ("position", ["collateral", "WETH"], -5, "collateral.WETH"),
    ("position", ["collateral", "WETH"], 1.5, "collateral.WETH"),
    ("position", ["collateral", "WETH"], "1.5", "collateral.WETH"),
    ("position", ["collateral", "WETH"], str(2**128), "collateral.WETH"),
    ("position", ["debt", "USDC"], True, "debt.USDC"),
    ("position", ["debt", "SHIB"], "1", "debt.SHIB"),
    ("position", ["salt"], str(R), "salt"),
    ("position", ["salt"], _DELETE, "salt"),
    ("market", ["assets", 0, "liquidationThreshold"], 10001, "assets.WETH.liquidationThreshold"),
    ("market", ["assets", 0, "liquidationBonus"], 10000, "assets.WETH.liquidationBonus"),
    ("market", ["assets", 0, "liquidationBonus"], 12500, "assets.WETH.liquidationBonus"),
    ("market", ["assets", 0, "decimals"], 19, "assets.WETH.decimals"),
    ("market", ["assets", 1, "symbol"], "WETH", "assets[1].symbol"),
    ("prices", ["prices", "WETH", "price"], "0", "prices.WETH.price"),
    ("prices", ["prices", "WETH", "price"], str(2**64), "prices.WETH.price"),
    ("prices", ["prices", "WETH"], _DELETE, "prices.WETH"),
    ("prices", ["prices", "DOGE"], {"price": "1"}, "prices.DOGE"),
    ("prices", ["decimals"], 18, "decimals"),
    # issue 13: rules, eMode, indexes, scaled balances, flags
    ("market", ["rules"], "aave-v3.4", "rules"),
    ("market", ["rules"], 36, "rules"),
    ("market", ["assets", 0, "ltv"], 8300, "assets.WETH.ltv"),
    ("market", ["assets", 3, "liquidationThreshold"], 0, "assets.DAI.liquidationBonus"),  # LT 0 needs bonus 0
    ("market", ["assets", 0, "debtCeiling"], "-1", "assets.WETH.debtCeiling"),
    ("market", ["eModeCategories", 0, "id"], 0, "eModeCategories[0].id"),
    ("market", ["eModeCategories", 0, "id"], 256, "eModeCategories[0].id"),
    ("market", ["eModeCategories", 0, "liquidationBonus"], 10600, "eModeCategories[0].liquidationBonus"),
    ("market", ["eModeCategories", 0, "ltv"], 9600, "eModeCategories[0].ltv"),
    ("market", ["eModeCategories", 0, "collateralBitmap"], 16, "eModeCategories[0].collateralBitmap"),
    ("market", ["eModeCategories", 0, "collateralBitmap"], "0b1010", "eModeCategories[0].collateralBitmap"),
    ("market", ["eModeCategories", 0, "isolated"], True, "eModeCategories[0].isolated"),
    ("prices", ["prices", "WETH", "liquidityIndex"], str(10**27 - 1), "prices.WETH.liquidityIndex"),
    ("prices", ["prices", "WETH", "variableBorrowIndex"], str(10**27 + 2**100), "prices.WETH.variableBorrowIndex"),
    (
        "prices",
        ["prices", "USDC", "variableBorrowIndex"],
        str(10**27 + 1),
        "prices.USDC.variableBorrowIndex",
    ),  # actual amounts
    ("position", ["balances"], "aTokens", "balances"),
    ("position", ["useAsCollateral"], ["WETH", "DOGE"], "useAsCollateral[1]"),
    ("position", ["useAsCollateral"], ["WETH", "WETH"], "useAsCollateral"),
    ("position", ["useAsCollateral"], "WETH", "useAsCollateral"),
    ("position", ["eModeCategory"], 2, "eModeCategory"),
    ("position", ["eModeCategory"], 256, "eModeCategory"),
]


@pytest.mark.parametrize(("kind", "path", "value", "field"), CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_exit_2_names_field_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, kind: str, path: list[Any], value: Any, field: str
) -> None:
    base = {"position": POS, "market": MKT, "prices": PRC}[kind]
    code, output, out = _run_prove(runner, tmp_path, **{kind: _with(base, path, value)})
    assert code == 2, output
    assert field in output
    assert not out.exists()
    assert list(tmp_path.glob("*bundle*")) == []


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{", "position"),
        ('{"collateral": {}, "collateral": {}, "debt": {}, "salt": "1"}', "collateral"),
        ('{"collateral": {"WETH": NaN}, "debt": {}, "salt": "1"}', "position"),
        ("[]", "<root>"),
        ('{"collateral": {}, "debt": {}, "salt": "1", "extra": 1}', "extra"),
    ],
)
def test_malformed_json(runner: CliRunner, tmp_path: Path, text: str, field: str) -> None:
    code, output, out = _run_prove(runner, tmp_path, raw={"position": text})
    assert code == 2, output
    assert field in output
    assert not out.exists()


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.0000000000000000001", "18.5", "nan", "inf"])
def test_bad_threshold(runner: CliRunner, tmp_path: Path, text: str) -> None:
    code, output, out = _run_prove(runner, tmp_path, threshold=text)
    assert code == 2, output
    assert "--threshold" in output
    assert not out.exists()


def test_threshold_parsing() -> None:
    assert parse_threshold("1.0") == 10**18
    assert parse_threshold("0.95") == 95 * 10**16
    assert parse_threshold("1.000000000000000001") == 10**18 + 1
    with pytest.raises(InputError):
        parse_threshold("1e-19")


def test_value_too_wide_for_circuit(runner: CliRunner, tmp_path: Path) -> None:
    # 2^128 - 1 wei of an 18-decimal token at the max price: value >= 2^128 base units
    pos = _with(POS, ["collateral", "WETH"], str(2**128 - 1))
    prc = _with(PRC, ["prices", "WETH", "price"], str(2**64 - 1))
    mkt = _with(MKT, ["assets", 0, "decimals"], 0)
    code, output, out = _run_prove(runner, tmp_path, position=pos, prices=prc, market=mkt)
    assert code == 2
    assert "collateral.WETH" in output and "2^128" in output
    assert not out.exists()


def test_v37_has_no_isolation_mode(runner: CliRunner, tmp_path: Path) -> None:
    mkt = _with(_with(MKT, ["rules"], "aave-v3.7"), ["assets", 0, "debtCeiling"], 10**9)
    code, output, out = _run_prove(runner, tmp_path, market=mkt)
    assert code == 2 and "assets.WETH.debtCeiling" in output and "no isolation mode" in output
    assert not out.exists()


def test_scaled_position_with_indexes_proves(runner: CliRunner, tmp_path: Path) -> None:
    """The scaled fixture (eMode, flags) at indexes above 1 ray: liquidatable, and its health
    factor differs from the same numbers read as actual amounts at 1 ray."""
    res = runner.invoke(
        cli,
        [
            "health",
            str(FIX / "position-scaled.json"),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices-indexed.json"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["health_factor_decimal"] == "0.99142725505929965"
    assert json.loads(res.stdout)["rules"] == "aave-v3.6"


def test_healthy_position_exits_1_with_health_factor(runner: CliRunner, tmp_path: Path) -> None:
    code, output, out = _run_prove(runner, tmp_path, position=_load("position-healthy.json"))
    assert code == 1
    assert "health factor 1.635" in output
    assert not out.exists()
