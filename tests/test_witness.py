"""Witness computation in Python (wasmtime) and what the circuit refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from zkmargin.build import CircuitKeys
from zkmargin.errors import WitnessError
from zkmargin.field import R
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.proc import run
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator, read_wtns, write_wtns

from .conftest import recommit_lending, set_input

WAD = 10**18


@pytest.fixture(scope="module")
def base_inputs(liquidatable: Position, market: Market, prices: PriceSnapshot) -> dict[str, InputValue]:
    return liquidation_inputs(liquidatable, market, prices, WAD).inputs


@pytest.fixture(scope="module")
def calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys("liquidation_4").compiled.wasm)


@lru_cache(maxsize=2)
def _r1cs(path: Path) -> R1cs:
    return read_r1cs(path)


def _edit(inputs: dict[str, InputValue], **changes: Any) -> dict[str, InputValue]:
    """_edit(inputs, collateral__0=v, hfThreshold=t): set signals, `name__i` for array elements."""
    for key, value in changes.items():
        name, _, idx = key.partition("__")
        inputs = set_input(inputs, name, int(idx) if idx else None, value)
    return inputs


@pytest.mark.parametrize("circuit_id", ["liquidation_4", "liquidation_8"])
def test_python_witness_is_byte_identical_to_snarkjs(
    keys: Callable[[str], CircuitKeys],
    tc: Toolchain,
    tmp_path: Path,
    circuit_id: str,
    liquidatable: Position,
    prices: PriceSnapshot,
) -> None:
    from zkmargin.model import Asset
    from zkmargin.model import Market as M

    k = keys(circuit_id)
    n = k.compiled.spec.n_assets
    # a market that fills every slot of this circuit size (padding exercised by the 4-slot demo)
    assets = tuple(Asset(f"A{i}", [18, 6, 8, 0][i % 4], 7000 + i, 10500) for i in range(n))
    from zkmargin.model import Position as P
    from zkmargin.model import PricePoint
    from zkmargin.model import PriceSnapshot as PS

    mkt = M("full", assets)
    px = PS({a.symbol: PricePoint(10**8 + 977 * i, 1, 1) for i, a in enumerate(assets)})
    pos = P({a.symbol: 10**6 * (i + 1) for i, a in enumerate(assets)}, {"A1": 10**13}, 987654321)
    inputs = liquidation_inputs(pos, mkt, px, 2**64 - 1).inputs
    witness = WitnessCalculator(k.compiled.wasm).calculate(inputs)
    ours = tmp_path / "py.wtns"
    write_wtns(ours, witness)
    (tmp_path / "input.json").write_text(
        json.dumps({key: (str(v) if isinstance(v, int) else [str(x) for x in v]) for key, v in inputs.items()})
    )
    run(tc.argv("snarkjs", "wtns", "calculate", k.compiled.wasm, tmp_path / "input.json", tmp_path / "sj.wtns"))
    assert ours.read_bytes() == (tmp_path / "sj.wtns").read_bytes()
    assert read_wtns(ours) == witness
    assert _r1cs(k.compiled.r1cs).failing_constraints(witness) == []


# Each attack bypasses the Python model and asks the circuit itself.
ATTACKS: list[tuple[str, dict[str, Any], bool]] = [
    ("collateral r-1 (negative in disguise)", {"collateral__0": R - 1}, True),
    ("collateral 2^128", {"collateral__0": 2**128}, True),
    ("debt r-1", {"debt__1": R - 1}, True),
    ("debt 2^128", {"debt__1": 2**128}, True),
    ("price 0", {"price__0": 0}, False),
    ("price 2^64", {"price__0": 2**64}, False),
    ("price r-1", {"price__1": R - 1}, False),
    ("liquidation threshold 10001", {"liqThreshold__0": 10001}, False),
    ("liquidation threshold r-1", {"liqThreshold__0": R - 1}, False),
    ("decimals 19", {"decimals__0": 19}, False),
    ("decimals r-1", {"decimals__0": R - 1}, False),
    ("hf threshold 2^64", {"hfThreshold": 2**64}, False),
    ("hf threshold r-1", {"hfThreshold": R - 1}, False),
    ("hf threshold at the health factor (0.981...)", {"hfThreshold": 981000000000000000}, False),
    ("other salt, same commitment", {"salt": 1}, False),
    ("commitment + 1", {"commitment": None}, False),
]


@pytest.mark.parametrize(("label", "changes", "recommit"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_circuit_rejects(
    calc: WitnessCalculator, base_inputs: dict[str, InputValue], label: str, changes: dict[str, Any], recommit: bool
) -> None:
    assert calc.calculate(base_inputs)  # the unedited inputs pass, so the test can fail
    if changes.get("commitment", 0) is None:
        com = base_inputs["commitment"]
        assert isinstance(com, int)
        changes = {"commitment": com + 1}
    edited = _edit(base_inputs, **changes)
    if recommit:
        edited = recommit_lending(edited)
    with pytest.raises(WitnessError, match="rejected"):
        calc.calculate(edited)


def test_boundary_threshold_in_circuit(
    calc: WitnessCalculator,
    base_inputs: dict[str, InputValue],
    liquidatable: Position,
    market: Market,
    prices: PriceSnapshot,
) -> None:
    from zkmargin.model import evaluate

    hf = evaluate(liquidatable, market, prices).health_factor
    calc.calculate(_edit(base_inputs, hfThreshold=hf + 1))  # HF just below t: proves
    for t in (hf, hf - 1):  # at and above: refused by the circuit itself
        with pytest.raises(WitnessError):
            calc.calculate(_edit(base_inputs, hfThreshold=t))


def test_edited_witness_fails_the_constraints(
    keys: Callable[[str], CircuitKeys],
    calc: WitnessCalculator,
    base_inputs: dict[str, InputValue],
    tc: Toolchain,
    tmp_path: Path,
) -> None:
    """Edit wires of a valid witness directly (as circomkit's editWitness does): our R1CS
    checker and `snarkjs wtns check` both catch it; the restored witness passes both."""
    k = keys("liquidation_4")
    r1cs = _r1cs(k.compiled.r1cs)
    witness = calc.calculate(base_inputs)
    n_pub = len(k.compiled.public_signals)
    collateral_wire = 1 + n_pub  # first private input: collateral[0]
    assert witness[collateral_wire] == 10 * 10**18
    for wire, value in ((collateral_wire, R - 1), (n_pub, witness[n_pub] + 1), (len(witness) - 1, 0)):
        edited = list(witness)
        edited[wire] = value
        if edited == witness:
            edited[wire] = 1
        assert r1cs.failing_constraints(edited), f"wire {wire}"
        write_wtns(tmp_path / "bad.wtns", edited)
        bad = run(tc.argv("snarkjs", "wtns", "check", k.compiled.r1cs, tmp_path / "bad.wtns"), check=False)
        assert "WITNESS IS CORRECT" not in bad.stdout
    write_wtns(tmp_path / "good.wtns", witness)
    good = run(tc.argv("snarkjs", "wtns", "check", k.compiled.r1cs, tmp_path / "good.wtns"))
    assert "WITNESS IS CORRECT" in good.stdout
    assert r1cs.failing_constraints(witness) == []


def test_missing_or_extra_inputs(calc: WitnessCalculator, base_inputs: dict[str, InputValue]) -> None:
    partial = dict(base_inputs)
    del partial["salt"]
    with pytest.raises(WitnessError, match="input values"):
        calc.calculate(partial)
    with pytest.raises(WitnessError, match="not in the circuit"):
        calc.calculate({**base_inputs, "bogus": 1})
    with pytest.raises(WitnessError, match="takes 4 values"):
        calc.calculate({**base_inputs, "price": [1, 2, 3]})
