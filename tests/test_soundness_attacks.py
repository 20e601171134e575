"""Attacks on the circuits, checked against the R1CS itself (galois over the BN254 scalar field).

Malicious witnesses are built by the honest witness generator run leniently (failed asserts
skipped), so every wire is what an honest prover would compute for the malicious inputs; the
R1CS check then shows the constraints refusing them. Each attack also checks that the honest
witness passes, so a test that cannot fail is impossible: restore the value and it passes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from zkmargin import paths
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.field import R
from zkmargin.loaders import load_position, load_prices
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.proc import run
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

from .conftest import FIX, recommit_lending, set_input


@pytest.fixture(scope="module")
def circuit(keys: Callable[[str], CircuitKeys]) -> tuple[R1cs, WitnessCalculator]:
    k = keys("liquidation_4")
    return read_r1cs(k.compiled.r1cs), WitnessCalculator(k.compiled.wasm)


@pytest.fixture(scope="module")
def honest(liquidatable: Position, market: Market, prices: PriceSnapshot) -> dict[str, InputValue]:
    return liquidation_inputs(liquidatable, market, prices, 10**18).inputs


@pytest.fixture(scope="module")
def scaled(market: Market) -> tuple[Position, Market, PriceSnapshot]:
    """The fixture position in scaled balances, in eMode, at indexes above 1 ray."""
    return (
        load_position(FIX / "position-scaled.json", market),
        market,
        load_prices(FIX / "prices-indexed.json", market),
    )


PRIVATE = ("collateral", "debt", "collateralFlags", "eModeCategory")


def _edit(inputs: dict[str, InputValue], name: str, index: int | None, value: int) -> dict[str, InputValue]:
    out = set_input(inputs, name, index, value)
    # private values: keep the commitment consistent, so that their own check alone is attacked
    return recommit_lending(out) if name in PRIVATE else out


def _failing(circ: tuple[R1cs, WitnessCalculator], inputs: dict[str, InputValue]) -> list[int]:
    r1cs, calc = circ
    return r1cs.failing_constraints(calc.calculate(inputs, lenient=True))


@pytest.fixture(scope="module")
def hf_constraint(circuit: tuple[R1cs, WitnessCalculator], honest: dict[str, InputValue]) -> int:
    """The constraint that refuses HF >= threshold (and nothing else does for this input)."""
    failing = _failing(circuit, {**honest, "hfThreshold": 10**17})
    assert len(failing) == 1
    return failing[0]


ATTACKS: list[tuple[str, str, int | None, int]] = [
    ("collateral 2^128", "collateral", 0, 2**128),
    ("collateral r-1 (= -1)", "collateral", 0, R - 1),
    ("collateral r-10^18 (= -1 WETH)", "collateral", 0, R - 10**18),
    ("debt 2^128", "debt", 1, 2**128),
    ("debt r-1", "debt", 1, R - 1),
    ("price 2^64", "price", 0, 2**64),
    ("price 0", "price", 0, 0),
    ("price r-1", "price", 1, R - 1),
    ("LT 10001", "liqThreshold", 0, 10001),
    ("LT 2^14", "liqThreshold", 0, 2**14),
    ("LT r-1", "liqThreshold", 0, R - 1),
    ("decimals 19", "decimals", 0, 19),
    ("decimals 32", "decimals", 0, 32),
    ("hf threshold 2^64", "hfThreshold", None, 2**64),
    ("hf threshold r-1", "hfThreshold", None, R - 1),
    ("salt changed, commitment kept", "salt", None, 12345),
    ("liquidity index 1 ray - 1", "liquidityIndex", 0, RAY - 1),
    ("liquidity index 0", "liquidityIndex", 0, 0),
    ("borrow index 1 ray + 2^100", "borrowIndex", 1, RAY + 2**100),
    ("borrow index r-1", "borrowIndex", 1, R - 1),
    ("rules version 30800 (no such version)", "rulesVersion", None, 30800),
    ("rules version 0", "rulesVersion", None, 0),
    ("collateral flags with a bit past the slots", "collateralFlags", None, 0b10011),
    ("collateral flags r-1", "collateralFlags", None, R - 1),
    ("eMode category not in the table", "eModeCategory", None, 7),
    ("eMode category 256 (past uint8)", "eModeCategory", None, 256),
    ("eMode category r-1", "eModeCategory", None, R - 1),
    ("eMode LT 10001 in an unused entry", "emodeLiqThreshold", 1, 10001),
    ("eMode bitmap naming slot 4 of 4", "emodeCollateralBitmap", 0, 16),
    ("eMode bitmap r-1", "emodeCollateralBitmap", 2, R - 1),
]


def test_honest_witness_satisfies_the_r1cs(
    circuit: tuple[R1cs, WitnessCalculator], honest: dict[str, InputValue]
) -> None:
    assert _failing(circuit, honest) == []


@pytest.mark.parametrize(("label", "name", "index", "value"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_fails_the_constraints(
    circuit: tuple[R1cs, WitnessCalculator],
    honest: dict[str, InputValue],
    hf_constraint: int,
    label: str,
    name: str,
    index: int | None,
    value: int,
) -> None:
    failing = _failing(circuit, _edit(honest, name, index, value))
    assert failing, label
    assert set(failing) != {hf_constraint}, f"{label}: refused only because HF moved, not by its own check"
    assert _failing(circuit, honest) == []  # restored: passes


@pytest.mark.parametrize(
    ("name", "index", "value"),
    [
        ("collateral", 0, 2**128 - 1),
        ("debt", 3, 2**128 - 1),
        ("price", 2, 2**64 - 1),
        ("liqThreshold", 0, 10000),
        ("decimals", 0, 18),
        ("decimals", 0, 0),
        ("hfThreshold", None, 2**64 - 1),
        ("liquidityIndex", 3, RAY),
        ("liquidityIndex", 3, RAY + 2**100 - 1),
        ("borrowIndex", 2, RAY + 2**100 - 1),
        ("rulesVersion", None, 30500),
        ("rulesVersion", None, 30700),
        ("collateralFlags", None, 0b1111),
        ("eModeCategory", None, 1),
    ],
)
def test_values_at_the_limit_pass_their_range_checks(
    circuit: tuple[R1cs, WitnessCalculator],
    honest: dict[str, InputValue],
    hf_constraint: int,
    name: str,
    index: int | None,
    value: int,
) -> None:
    """At the bit width (or bound) a value is legal: at most the statement itself may fail.
    (debt slot 3 is DAI, 18 decimals at $1: 2^128 - 1 units are still a value < 2^128.)"""
    assert set(_failing(circuit, _edit(honest, name, index, value))) <= {hf_constraint}


def test_every_public_input_changed_by_one(
    circuit: tuple[R1cs, WitnessCalculator], keys: Callable[[str], CircuitKeys], honest: dict[str, InputValue]
) -> None:
    """Each public input is bound: changed alone in the witness, a constraint fails. That includes
    the eMode entries this position does not use (it uses none): each is range-checked whether
    selected or not, so the public table has one meaning."""
    r1cs, calc = circuit
    witness = calc.calculate(honest)
    names = keys("liquidation_4").compiled.public_signals
    assert honest["eModeCategory"] == 0
    for wire in range(1, r1cs.header.n_public + 1):
        edited = list(witness)
        edited[wire] = (edited[wire] + 1) % R
        assert r1cs.failing_constraints(edited), f"public wire {wire} ({names[wire - 1]})"
    assert r1cs.failing_constraints(witness) == []


def test_the_used_emode_entry_is_bound(
    keys: Callable[[str], CircuitKeys], scaled: tuple[Position, Market, PriceSnapshot]
) -> None:
    """For a position in eMode category 1, the entry's LT and bitmap are bound like every other input."""
    k = keys("liquidation_4")
    r1cs, calc = read_r1cs(k.compiled.r1cs), WitnessCalculator(k.compiled.wasm)
    pos, market, prices = scaled
    assert pos.emode_category == 1
    witness = calc.calculate(liquidation_inputs(pos, market, prices, 10**18).inputs)
    names = k.compiled.public_signals
    for name in ("emodeLiqThreshold[0]", "emodeCollateralBitmap[0]", "liquidityIndex[1]", "borrowIndex[3]"):
        edited = list(witness)
        edited[names.index(name) + 1] += 1
        assert r1cs.failing_constraints(edited), name


# --- malicious hints in the divisions, on the very templates the circuits use ---


def _compile_main(tc: Toolchain, tmp: Path, main: str) -> tuple[R1cs, WitnessCalculator]:
    src = tmp / "src"
    shutil.copytree(paths.CIRCUITS_DIR / "lib", src / "circuits" / "lib")
    shutil.copytree(tc.circomlib_circuits, src / "circomlib")
    (src / "main.circom").write_text(f'pragma circom 2.1.6;\ninclude "circuits/lib/arith.circom";\n{main}\n')
    (src / "out").mkdir()
    run(tc.argv("circom2", "main.circom", "--r1cs", "--wasm", "--O1", "-l", "circomlib", "-o", "out"), cwd=src)
    return read_r1cs(src / "out" / "main.r1cs"), WitnessCalculator(src / "out" / "main_js" / "main.wasm")


DIVISIONS: list[
    tuple[str, str, Callable[[int, int], tuple[int, int]], list[tuple[str, Callable[[int, int, int], tuple[int, int]]]]]
] = [
    (
        "floor",
        "component main = DivRoundCheck(128, 60, 0);",
        lambda n, d: (n // d, n % d),
        [
            ("remainder >= divisor (q - 1, rem + d)", lambda q, r, d: (q - 1, r + d)),
            ("quotient -1 in disguise", lambda q, r, d: (R - 1, 0)),
            ("quotient past 2^128", lambda q, r, d: (q + 2**128, r)),
        ],
    ),
    (
        "ceil",
        "component main = DivRoundCheck(128, 60, 1);",
        lambda n, d: (-(-n // d), -n % d),
        [
            ("remainder >= divisor (q + 1, rem + d)", lambda q, r, d: (q + 1, r + d)),
            ("remainder negative (q, rem - d)", lambda q, r, d: (q - 1, (r - d) % R)),
        ],
    ),
    (
        "signed floor",
        "component main = SignedFloorDivCheck(146, 60);",
        lambda n, d: (n // d, n % d),
        [
            ("remainder >= divisor (q - 1, rem + d)", lambda q, r, d: (q - 1, r + d)),
            ("quotient below -2^146", lambda q, r, d: (q - 2**147, r)),
        ],
    ),
]


@pytest.mark.slow  # compiles a circuit per case
@pytest.mark.parametrize(("kind", "main", "honest_qr", "attacks"), DIVISIONS, ids=[d[0] for d in DIVISIONS])
def test_division_hints(
    tc: Toolchain,
    tmp_path: Path,
    kind: str,
    main: str,
    honest_qr: Callable[[int, int], tuple[int, int]],
    attacks: list[tuple[str, Callable[[int, int, int], tuple[int, int]]]],
) -> None:
    r1cs, calc = _compile_main(tc, tmp_path, main)
    n = (-1 if kind == "signed floor" else 1) * 123456789123456789123456789 * 10**8
    d = 10**18
    q, rem = honest_qr(n, d)

    def check(q_: int, rem_: int) -> list[int]:
        return r1cs.failing_constraints(
            calc.calculate({"n": n % R, "d": d, "q": q_ % R, "rem": rem_ % R}, lenient=True)
        )

    assert check(q, rem) == []
    for label, attack in attacks:
        q2, r2 = attack(q, rem, d)
        if label.startswith("remainder"):
            # the division equation itself holds: only the remainder's range checks can refuse it
            assert ((q2 * d - r2 - n) if kind == "ceil" else (q2 * d + r2 - n)) % R == 0
        assert check(q2, r2), f"{kind}: {label}"
    assert check(q, rem) == []
