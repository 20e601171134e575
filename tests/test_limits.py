"""Python's bounds are the circuit's bounds: every constant a library circuit defines
(`function NAME() { return N; }` in circuits/lib/*.circom) equals the Python constant it mirrors."""

from __future__ import annotations

import re

import pytest

from zkmargin import limits, liquidation_step, paths, perp
from zkmargin.aave_math import RAY
from zkmargin.commitment import LENDING_TAG
from zkmargin.errors import InputError
from zkmargin.loaders import market_from_json
from zkmargin.model import RULES_VERSION
from zkmargin.pool import liquidation as pool_liquidation
from zkmargin.pool import note as pool_note
from zkmargin.pool.transition import Op

# circuits/lib file -> circom constant -> the Python value it mirrors. A constant the circuits
# define and this table does not map fails test_every_circuit_constant_is_mapped.
MIRRORS: dict[str, dict[str, int]] = {
    "position.circom": {
        "AMOUNT_BITS": limits.AMOUNT_BITS,
        "PRICE_BITS": limits.PRICE_BITS,
        "VALUE_BITS": limits.VALUE_BITS,
        "MAX_DECIMALS": limits.MAX_DECIMALS,
        "DEC_SCALE_BITS": limits.DEC_SCALE_BITS,
        "LT_BITS": limits.LT_BITS,
        "INDEX_BITS": limits.INDEX_BITS,
        "RAY_BITS": limits.RAY_BITS,
        "EMODE_BITS": limits.EMODE_BITS,
        "EMODE_BONUS_BITS": limits.EMODE_BONUS_BITS,
        "RAY": RAY,
        "LENDING_COMMITMENT_TAG": LENDING_TAG,
        "RULES_V35": RULES_VERSION["aave-v3.5"],
        "RULES_V36": RULES_VERSION["aave-v3.6"],
        "RULES_V37": RULES_VERSION["aave-v3.7"],
    },
    "perp.circom": {
        "SIZE_BITS": perp.SIZE_BITS,
        "FUNDING_BITS": perp.FUNDING_BITS,
        "BALANCE_BITS": perp.BALANCE_BITS,
        "NOTIONAL_BITS": perp.NOTIONAL_BITS,
        "EXPONENT_BITS": perp.EXPONENT_BITS,
        "MAX_QUOTE_EXPONENT": perp.MAX_QUOTE_EXPONENT,
        "PPM_BITS": perp.PPM_BITS,
        "RATIO_BITS": perp.RATIO_BITS,
        "PERP_COMMITMENT_TAG": perp.PERP_TAG,
    },
    "liquidation_step.circom": {
        "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD": liquidation_step.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD,
        "MIN_LEFTOVER_BASE": liquidation_step.MIN_LEFTOVER_BASE,
        "CLOSE_FACTOR_HF_THRESHOLD": liquidation_step.CLOSE_FACTOR_HF_THRESHOLD,
        "BONUS_BITS": liquidation_step.BONUS_BITS,
    },
    "pool.circom": {
        "DOMAIN_OWNER": pool_note.DOMAIN_OWNER,
        "DOMAIN_NULLIFIER": pool_note.DOMAIN_NULLIFIER,
        "WAD": limits.WAD,
        "OP_DEPOSIT": Op.DEPOSIT,
        "OP_WITHDRAW": Op.WITHDRAW,
        "OP_BORROW": Op.BORROW,
        "OP_REPAY": Op.REPAY,
    },
    "pool_liquidation.circom": {
        "DOMAIN_LIQUIDATION_SALT": pool_liquidation.DOMAIN_LIQUIDATION_SALT,
    },
    "note_seal.circom": {
        "DOMAIN_NOTE": pool_note.DOMAIN_NOTE,
    },
}

_CONSTANT = re.compile(r"function\s+(\w+)\s*\(\s*\)\s*\{\s*return\s+(\d+)\s*;\s*\}")
_NO_PARAMS = re.compile(r"function\s+(\w+)\s*\(\s*\)")
LIB_FILES = sorted(p.name for p in (paths.CIRCUITS_DIR / "lib").glob("*.circom"))


def _source(name: str) -> str:
    return (paths.CIRCUITS_DIR / "lib" / name).read_text()


def circom_constants(name: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in _CONSTANT.findall(_source(name))}


@pytest.mark.parametrize("name", LIB_FILES)
def test_every_circuit_constant_is_mapped(name: str) -> None:
    defined = circom_constants(name)
    mapped = MIRRORS.get(name, {})
    assert sorted(defined.keys() - mapped.keys()) == [], f"{name} defines constants MIRRORS does not map"
    assert sorted(mapped.keys() - defined.keys()) == [], f"MIRRORS maps constants {name} no longer defines"


@pytest.mark.parametrize("name", LIB_FILES)
def test_circuit_constants_equal_python(name: str) -> None:
    defined = circom_constants(name)
    assert {k: defined[k] for k in MIRRORS.get(name, {})} == MIRRORS.get(name, {})


@pytest.mark.parametrize("name", LIB_FILES)
def test_parameterless_functions_are_plain_constants(name: str) -> None:
    """A constant written another way (an expression, several lines) would escape the table."""
    assert sorted(_NO_PARAMS.findall(_source(name))) == sorted(circom_constants(name)), (
        f"{name}: write each constant as `function NAME() {{ return DIGITS; }}`"
    )


def test_mirrored_files_exist() -> None:
    assert sorted(MIRRORS.keys() - set(LIB_FILES)) == []


def test_bounds_fit_the_bit_widths() -> None:
    assert 10**limits.MAX_DECIMALS < 2**limits.DEC_SCALE_BITS
    assert limits.BPS < 2**limits.LT_BITS
    assert perp.PPM < 2**perp.PPM_BITS
    assert RAY < 2**limits.RAY_BITS and 10**perp.MAX_QUOTE_EXPONENT < 2**limits.DEC_SCALE_BITS
    assert liquidation_step.MIN_LEFTOVER_BASE * 2 == liquidation_step.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD


def test_loader_refuses_a_bonus_the_circuit_cannot_hold() -> None:
    def market(bonus: int) -> object:
        asset = {
            "symbol": "X",
            "decimals": 18,
            "liquidationThreshold": 1,  # a collateral: LT 0 would require bonus 0
            "liquidationBonus": bonus,
            "liquidationProtocolFee": 0,
        }
        return market_from_json({"version": 1, "name": "m", "assets": [asset]})

    with pytest.raises(InputError, match="liquidationBonus"):
        market(2**liquidation_step.BONUS_BITS)
    market(2**limits.LT_BITS + limits.BPS)  # the loader's own bound, below the circuit's
