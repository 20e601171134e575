"""Python's bounds are the circuit's bounds."""

from __future__ import annotations

import re

from zkmargin import limits, paths
from zkmargin.aave_math import RAY
from zkmargin.commitment import LENDING_TAG
from zkmargin.model import RULES_VERSION


def _circom_functions() -> dict[str, int]:
    src = (paths.CIRCUITS_DIR / "lib" / "position.circom").read_text()
    return {m[0]: int(m[1]) for m in re.findall(r"function (\w+)\(\) \{ return (\d+); \}", src)}


def test_bit_widths_match_the_circuit() -> None:
    f = _circom_functions()
    assert f["AMOUNT_BITS"] == limits.AMOUNT_BITS
    assert f["PRICE_BITS"] == limits.PRICE_BITS
    assert f["VALUE_BITS"] == limits.VALUE_BITS
    assert f["MAX_DECIMALS"] == limits.MAX_DECIMALS
    assert f["LT_BITS"] == limits.LT_BITS
    assert f["INDEX_BITS"] == limits.INDEX_BITS
    assert f["EMODE_BITS"] == limits.EMODE_BITS
    assert f["RAY"] == RAY < 2 ** f["RAY_BITS"]
    assert [f[f"RULES_V3{v}"] for v in (5, 6, 7)] == list(RULES_VERSION.values())
    assert 10**limits.MAX_DECIMALS < 2 ** f["DEC_SCALE_BITS"]
    assert limits.BPS < 2**limits.LT_BITS


def test_commitment_tag_matches_the_circuit() -> None:
    assert _circom_functions()["LENDING_COMMITMENT_TAG"] == LENDING_TAG
