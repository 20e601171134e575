"""aave_ref against the pinned Solidity itself, executed on an in-process EVM.

Compiles, at each pinned commit, the real WadRayMath, PercentageMath, MathUtils, TokenMath,
ReserveConfiguration, DataTypes and Errors, plus ``_calculateAvailableCollateralToLiquidate``
(and its locals struct) cut verbatim out of that version's LiquidationLogic.sol, and compares every
function with the Python transliteration on random and edge inputs -- results and reverts.

The sources are read with git from a clone of aave-dao/aave-v3-origin (bare or not) named by
``AAVE_V3_ORIGIN_GIT``; without it the module is skipped (the sources are BUSL-1.1 and are not
vendored here). Needs the project's solcjs (0.8.26+: the libraries use require(bool, error)).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from collections.abc import Callable

import pytest
from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector

from zkmargin.evm import InProcessChain, Reverted
from zkmargin.solidity import compile_sources
from zkmargin.toolchain import Toolchain

from . import aave_ref as A
from . import generators as G

GIT = os.environ.get("AAVE_V3_ORIGIN_GIT", "")
pytestmark = pytest.mark.skipif(not GIT, reason="set AAVE_V3_ORIGIN_GIT to a clone of aave-dao/aave-v3-origin")

LIB = "src/contracts/protocol/libraries/"
FILES = [
    "math/WadRayMath.sol",
    "math/PercentageMath.sol",
    "math/MathUtils.sol",
    "helpers/TokenMath.sol",
    "configuration/ReserveConfiguration.sol",
    "types/DataTypes.sol",
    "helpers/Errors.sol",
]
PANIC = function_signature_to_4byte_selector("Panic(uint256)")

MATH: dict[str, Callable[[int, int], int]] = {
    "wadDiv": A.wad_div,
    "rayMulFloor": A.ray_mul_floor,
    "rayMulCeil": A.ray_mul_ceil,
    "rayDivFloor": A.ray_div_floor,
    "rayDivCeil": A.ray_div_ceil,
    "percentMul": A.percent_mul,
    "percentMulFloor": A.percent_mul_floor,
    "percentMulCeil": A.percent_mul_ceil,
    "percentDiv": A.percent_div,
    "percentDivCeil": A.percent_div_ceil,
    "getATokenBalance": A.get_atoken_balance,
    "getVTokenBalance": A.get_vtoken_balance,
    "getATokenBurnScaledAmount": A.get_atoken_burn_scaled_amount,
    "getATokenTransferScaledAmount": A.get_atoken_transfer_scaled_amount,
    "getVTokenBurnScaledAmount": A.get_vtoken_burn_scaled_amount,
}
LIBRARY_OF = {
    "wadDiv": "WadRayMath",
    "rayMulFloor": "WadRayMath",
    "rayMulCeil": "WadRayMath",
    "rayDivFloor": "WadRayMath",
    "rayDivCeil": "WadRayMath",
    "percentMul": "PercentageMath",
    "percentMulFloor": "PercentageMath",
    "percentMulCeil": "PercentageMath",
    "percentDiv": "PercentageMath",
    "percentDivCeil": "PercentageMath",
    "percentDivFloor": "PercentageMath",
}


def _show(commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", GIT, "show", f"{commit}:{path}"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def _extract(source: str, start: str) -> str:
    """The block opening with ``start`` (2-space indented member) up to its closing ``  }``."""
    i = source.index(start)
    i = source.rindex("\n", 0, i) + 1
    j = source.index("\n  }\n", i)
    return source[i : j + 4]


def harness(version: A.Version) -> dict[str, str]:
    commit = A.PINS[version].commit
    sources = {LIB + f: _show(commit, LIB + f) for f in FILES}
    liq = _show(commit, LIB + "logic/LiquidationLogic.sol")
    struct = _extract(liq, "struct AvailableCollateralToLiquidateLocalVars")
    fn = _extract(liq, "function _calculateAvailableCollateralToLiquidate(")
    math = dict(MATH)
    if version == "aave-v3.7":
        math["percentDivFloor"] = A.percent_div_floor
    wrappers = "\n".join(
        f"  function {n}(uint256 a, uint256 b) external pure returns (uint256) {{ "
        f"return {LIBRARY_OF.get(n, 'TokenMath')}.{n}(a, b); }}"
        for n in math
    )
    # inputs as one array: the wrapper must stay within the legacy pipeline's stack
    call = "Extracted._calculateAvailableCollateralToLiquidate(cfg, p[1], p[2], p[3], p[4], p[5], p[6], p[7])"
    ret = f"return {call};"
    outs = ", ".join(["uint256"] * (3 if version == "aave-v3.7" else 4))  # v3.7 returns three values
    body = f"""// SPDX-License-Identifier: BUSL-1.1
pragma solidity ^0.8.10;
import {{WadRayMath}} from './{LIB}math/WadRayMath.sol';
import {{PercentageMath}} from './{LIB}math/PercentageMath.sol';
import {{MathUtils}} from './{LIB}math/MathUtils.sol';
import {{TokenMath}} from './{LIB}helpers/TokenMath.sol';
import {{DataTypes}} from './{LIB}types/DataTypes.sol';
import {{ReserveConfiguration}} from './{LIB}configuration/ReserveConfiguration.sol';

library Extracted {{
  using PercentageMath for uint256;
  using ReserveConfiguration for DataTypes.ReserveConfigurationMap;

{struct}
{fn}}}

contract Harness {{
  using ReserveConfiguration for DataTypes.ReserveConfigurationMap;
{wrappers}
  function mulDivCeil(uint256 a, uint256 b, uint256 c) external pure returns (uint256) {{
    return MathUtils.mulDivCeil(a, b, c);
  }}
  function calc(uint256[8] calldata p) external pure returns ({outs}) {{
    DataTypes.ReserveConfigurationMap memory cfg;
    cfg.setLiquidationProtocolFee(p[0]);
    {ret}
  }}
}}
"""
    return {**sources, "Harness.sol": body}


class Deployed:
    def __init__(self, version: A.Version, tc: Toolchain) -> None:
        compiled = compile_sources(harness(version), tc)["Harness"]
        self.chain = InProcessChain(timestamp=1)
        self.calc_outputs = 3 if version == "aave-v3.7" else 4
        self.address = self.chain.deploy(compiled.bytecode)

    def call(self, sig: str, args: list[int], n_out: int) -> tuple[int, ...] | str:
        if sig.startswith("calc("):
            sig, data_args, n_out = "calc(uint256[8])", encode(["uint256[8]"], [args]), self.calc_outputs
        else:
            data_args = encode(["uint256"] * len(args), args)
        data = function_signature_to_4byte_selector(sig) + data_args
        try:
            out = self.chain.call(self.address, data)
        except Reverted as e:
            if e.data == b"":
                return "revert(0,0)"
            if e.data[:4] == PANIC:
                return f"Panic(0x{int.from_bytes(e.data[4:], 'big'):x})"
            return "0x" + e.data.hex()
        got = tuple(decode(["uint256"] * n_out, out))
        return got + (0,) * (4 - n_out) if sig == "calc(uint256[8])" else got


def _py(fn: Callable[..., object], *args: int) -> object:
    try:
        return fn(*args)
    except A.AaveRevert as e:
        return e.name


def _edges(rng: random.Random) -> list[tuple[int, int]]:
    m = A.UINT256_MAX
    out = [(0, 0), (0, 1), (1, 0), (m, 1), (1, m), (m, 0), (5, 0)]
    for b in (1, 2, 3, 10**4, 10**4 + 1, A.RAY, 3 * A.RAY, rng.randrange(1, 10**30)):
        for edge in (
            m // b,
            (m - b // 2) // A.WAD,
            (m - A.HALF_RAY) // b,
            (m - 5000) // b,
            m // A.RAY,
            (m - b // 2) // 10**4,
            m // 10**4,
        ):
            out += [(edge, b), (edge + 1, b), (max(edge - 1, 0), b)]
    return [(a, b) for a, b in out if a <= m]


@pytest.fixture(scope="module", params=A.VERSIONS)
def deployed(request: pytest.FixtureRequest, tc: Toolchain) -> tuple[A.Version, Deployed]:
    version: A.Version = request.param
    return version, Deployed(version, tc)


def test_math_and_token_math_match_the_evm(deployed: tuple[A.Version, Deployed]) -> None:
    version, h = deployed
    rng = random.Random(17)
    pairs = _edges(rng) + [
        (
            rng.choice([rng.randrange(0, 10**40), rng.randrange(0, 2**256)]),
            rng.choice([rng.randrange(0, 20001), rng.randrange(0, 4 * A.RAY), rng.randrange(0, 2**256)]),
        )
        for _ in range(G.case_count(150, 3000))
    ]
    names = list(MATH) + (["percentDivFloor"] if version == "aave-v3.7" else [])
    for name in names:
        fn = MATH.get(name, A.percent_div_floor)
        for a, b in pairs:
            evm = h.call(f"{name}(uint256,uint256)", [a, b], 1)
            py = _py(fn, a, b)
            assert (evm if isinstance(evm, str) else evm[0]) == py, (version, name, a, b)
    for _ in range(G.case_count(150, 3000)):
        a, b, c = rng.randrange(0, 2**130), rng.randrange(0, 2**130), rng.choice([0, rng.randrange(1, 2**64)])
        evm = h.call("mulDivCeil(uint256,uint256,uint256)", [a, b, c], 1)
        assert (evm if isinstance(evm, str) else evm[0]) == _py(A.mul_div_ceil, a, b, c)


def test_calculate_available_collateral_matches_the_evm(deployed: tuple[A.Version, Deployed]) -> None:
    """_calculateAvailableCollateralToLiquidate, verbatim from the pinned LiquidationLogic.sol."""
    version, h = deployed
    rng = random.Random(23)
    n = G.case_count(300, 5000)
    checked = 0
    for case in G.random_aave_cases(29, n):
        m, call = case.market, case.call
        c, d = m.reserves[call.collateral], m.reserves[call.debt]
        for dtc in (min(call.debt_to_cover, 2**128), rng.randrange(0, 10**24)):
            bal = A.collateral_balance(m, case.user, call.collateral)
            bonus = rng.choice([c.liquidation_bonus, 10500, 10001, rng.randrange(10001, 15000)])
            evm = h.call(
                "calc(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)",
                [c.liquidation_protocol_fee, c.price, c.unit, d.price, d.unit, dtc, bal, bonus],
                4,
            )
            py = _py(A.calculate_available_collateral_to_liquidate, version, c, d, dtc, bal, bonus)  # type: ignore[arg-type]
            if isinstance(py, tuple) and version == "aave-v3.7":
                py = (*py[:3], 0)  # v3.7 returns three values; Deployed.call pads a zero
            assert evm == py, (version, case.name, dtc, bal, bonus)
            checked += 1
    assert checked == 2 * n


def test_worked_example_on_the_evm(deployed: tuple[A.Version, Deployed]) -> None:
    version, h = deployed
    out = h.call(
        "calc(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)",
        [1000, 2500 * 10**8, 10**18, 10**8, 10**6, 7500 * 10**6, 10 * 10**18, 10500],
        4,
    )
    assert isinstance(out, tuple)
    assert out[:3] == (3135 * 10**15, 7500 * 10**6, 15 * 10**15)


def test_harness_uses_the_pinned_text() -> None:
    """The extracted function is the one README.md cites (line numbers at each pin)."""
    spans: dict[A.Version, int] = {"aave-v3.5": 609, "aave-v3.6": 564, "aave-v3.7": 583}
    for version, line in spans.items():
        liq = _show(A.PINS[version].commit, LIB + "logic/LiquidationLogic.sol").split("\n")
        assert re.search(r"function _calculateAvailableCollateralToLiquidate\(", liq[line - 1]), version
