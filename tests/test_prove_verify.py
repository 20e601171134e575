"""Real proofs: boundaries, tampering, and agreement of the native verifier with snarkjs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.optimized_bn128 import optimized_curve as oc

from zkmargin import api, snarkjs_verify
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle, bundle_from_json, vkey_hash
from zkmargin.errors import StatementFalse, WitnessError
from zkmargin.field import Q, R
from zkmargin.groth16 import verify as native_verify
from zkmargin.model import Market, Position, PriceSnapshot, evaluate
from zkmargin.pinning import InstalledKeys
from zkmargin.prover import prove
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator

WAD = 10**18


def test_valid_bundle_verifies_with_both_backends(bundle: Bundle, tc: Toolchain) -> None:
    for backend in ("fast", "snarkjs"):
        res = api.verify_bundle(bundle, keys=InstalledKeys(), verifier=backend, settings=Settings(toolchain=tc))  # type: ignore[arg-type]
        assert res.valid, res.reason
        assert res.claim.threshold == WAD
        assert res.claim.slots[0].price == 2500 * 10**8
        assert "has health factor < 1" in res.claim.describe()


def test_bundle_reveals_nothing_private(bundle: Bundle, liquidatable: Position) -> None:
    text = json.dumps(bundle.to_json())
    assert str(liquidatable.salt) not in text and f"{liquidatable.salt:x}" not in text
    numbers = set(re.findall(r"\d+", text))
    for amount in (*liquidatable.collateral.values(), *liquidatable.debt.values()):
        assert str(amount) not in numbers


def test_bundle_round_trips(bundle: Bundle, tc: Toolchain) -> None:
    again = bundle_from_json(json.loads(json.dumps(bundle.to_json())))
    assert again == bundle


def _debt_at_boundary(pos: Position, market: Market, prices: PriceSnapshot) -> int:
    """Smallest USDC debt (base units) that makes the position liquidatable."""
    lo, hi = 0, 10**15
    while hi - lo > 1:
        mid = (lo + hi) // 2
        trial = Position(pos.collateral, {"USDC": mid}, pos.salt)
        lo, hi = (lo, mid) if evaluate(trial, market, prices).is_below(WAD) else (mid, hi)
    return hi


def test_position_boundary_both_sides(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    d = _debt_at_boundary(liquidatable, market, prices)
    just_below = Position(liquidatable.collateral, {"USDC": d}, liquidatable.salt)
    at_or_above = Position(liquidatable.collateral, {"USDC": d - 1}, liquidatable.salt)
    hf_below = evaluate(just_below, market, prices).health_factor
    hf_at = evaluate(at_or_above, market, prices).health_factor
    assert hf_below < WAD <= hf_at
    b = lending.prove_liquidation(just_below, market, prices, WAD, settings=Settings(toolchain=tc))
    assert api.verify_bundle(b, keys=InstalledKeys()).valid
    with pytest.raises(StatementFalse, match="health factor"):
        lending.prove_liquidation(at_or_above, market, prices, WAD, settings=Settings(toolchain=tc))
    # and the circuit itself refuses it (model bypassed: the inputs computed as if liquidatable)
    inputs = liquidation_inputs(just_below, market, prices, WAD).inputs
    inputs = {**inputs, "debt": [0, d - 1, 0, 0]}
    from zkmargin.commitment import commit_amounts

    inputs["commitment"] = commit_amounts(  # the same flags and eMode: only the debt differs
        list(inputs["collateral"]),  # type: ignore[arg-type]
        [0, d - 1, 0, 0],
        liquidatable.salt,
        int(inputs["collateralFlags"]),  # type: ignore[arg-type]
        int(inputs["eModeCategory"]),  # type: ignore[arg-type]
    )
    with pytest.raises(WitnessError, match="HealthFactorCompare"):  # refused by the statement, not the commitment
        WitnessCalculator(keys("liquidation_4").compiled.wasm).calculate(inputs)


@pytest.mark.slow  # proves
def test_threshold_boundary_both_sides(
    tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    hf = evaluate(liquidatable, market, prices).health_factor
    b = lending.prove_liquidation(liquidatable, market, prices, hf + 1, settings=Settings(toolchain=tc))
    assert api.verify_bundle(b, keys=InstalledKeys()).valid and api.decode_claim(b).threshold == hf + 1
    for t in (hf, hf - 1):
        with pytest.raises(StatementFalse):
            lending.prove_liquidation(liquidatable, market, prices, t, settings=Settings(toolchain=tc))


def test_proof_from_the_8_slot_circuit(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    from zkmargin.model import Asset, PricePoint
    from zkmargin.model import Market as M
    from zkmargin.model import PriceSnapshot as PS

    assets = tuple(Asset(f"T{i}", 18, 8000, 10500) for i in range(6))  # 6 assets -> 8-slot circuit
    mkt = M("six", assets)
    px = PS({a.symbol: PricePoint(10**8, 1, 1) for a in assets})
    pos = Position({"T0": 10**18}, {"T5": 9 * 10**17}, 42)
    b = lending.prove_liquidation(pos, mkt, px, WAD, settings=Settings(toolchain=tc))
    assert b.circuit == "liquidation_8"
    claim = api.decode_claim(b)
    assert [s.price for s in claim.slots] == [10**8] * 6 + [1, 1]  # padding slots
    assert (
        api.verify_bundle(b, keys=InstalledKeys()).valid
        and api.verify_bundle(b, keys=InstalledKeys(), verifier="snarkjs", settings=Settings(toolchain=tc)).valid
    )


# --- tampering: every case is well-formed, and checked by both verifiers, which must agree on
# "invalid" (malformed encodings are tests/test_encodings.py's, against every backend) ---


def _signal_edits(pub: list[str]) -> list[tuple[str, list[Any]]]:
    def edit(i: int, v: Any) -> list[Any]:
        out: list[Any] = list(pub)
        out[i] = v
        return out

    return [
        ("commitment + 1", edit(0, str(int(pub[0]) + 1))),
        ("price[0] + 1", edit(1, str(int(pub[1]) + 1))),
        ("decimals[1] - 1", edit(6, str(int(pub[6]) - 1))),
        ("liqThreshold[0] + 1", edit(9, str(int(pub[9]) + 1))),
        ("hfThreshold doubled", edit(13, str(2 * int(pub[13])))),
        ("commitment - 1 mod r", edit(0, str((int(pub[0]) - 1) % R))),
    ]


def _proof_edits(proof: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def edit(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        p = copy.deepcopy(proof)
        fn(p)
        return p

    return [
        ("pi_a negated (on curve)", edit(lambda p: p["pi_a"].__setitem__(1, str(Q - int(p["pi_a"][1]))))),
        ("pi_c := pi_a", edit(lambda p: p.__setitem__("pi_c", p["pi_a"]))),
        ("pi_a := 2 pi_a", edit(lambda p: p.__setitem__("pi_a", _double_g1(p["pi_a"])))),
        (
            "pi_b negated (in G2)",
            edit(lambda p: p["pi_b"].__setitem__(1, [str((Q - int(c)) % Q) for c in p["pi_b"][1]])),
        ),
    ]


def _vkey_edits(vk: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def edit(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        v = copy.deepcopy(vk)
        fn(v)
        return v

    return [
        ("IC[1] := IC[2]", edit(lambda v: v["IC"].__setitem__(1, v["IC"][2]))),
        ("alpha negated", edit(lambda v: v["vk_alpha_1"].__setitem__(1, str(Q - int(v["vk_alpha_1"][1]))))),
        ("delta := gamma", edit(lambda v: v.__setitem__("vk_delta_2", v["vk_gamma_2"]))),
        ("IC[0] := 2 IC[0]", edit(lambda v: v["IC"].__setitem__(0, _double_g1(v["IC"][0])))),
    ]


def _double_g1(p: list[str]) -> list[str]:
    x, y = oc.normalize(oc.double((FQ(int(p[0])), FQ(int(p[1])), FQ.one())))
    return [str(x), str(y), "1"]


def test_tampering_is_rejected_by_native_and_snarkjs(bundle: Bundle, tc: Toolchain) -> None:
    vk, pub, proof = bundle.vkey, bundle.public_signals, bundle.proof
    cases: list[tuple[str, Any, Any, Any]] = [("valid", vk, pub, proof)]
    cases += [(f"signal: {n}", vk, p, proof) for n, p in _signal_edits(pub)]
    cases += [(f"proof: {n}", vk, pub, p) for n, p in _proof_edits(proof)]
    cases += [(f"vkey: {n}", v, pub, proof) for n, v in _vkey_edits(vk)]
    for label, v, p, pr in cases:
        native = native_verify(v, p, pr)
        reference = snarkjs_verify.verify(v, p, pr, tc)
        assert native.valid == reference.valid == (label == "valid"), f"{label}: native {native}, snarkjs {reference}"


def test_bundle_key_checks(bundle: Bundle, keys: Callable[[str], CircuitKeys]) -> None:
    # a bundle whose embedded key was swapped but whose vkey_sha256 was not
    other = keys("liquidation_8").vkey()
    swapped = Bundle(**{**bundle.__dict__, "vkey": other})
    res = api.verify_bundle(swapped, keys=InstalledKeys())
    assert not res.valid and "vkey_sha256" in res.reason
    # pinning the key you trust: a bundle made for another key is refused
    res = api.verify_bundle(bundle, vkey=other)
    assert not res.valid and "different verification key" in res.reason
    res = api.verify_bundle(bundle, vkey=keys("liquidation_4").vkey_path)
    assert res.valid and res.key_pinned
    assert res.vkey_sha256 == vkey_hash(keys("liquidation_4").vkey())


def test_prover_public_signals_match_the_witness(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    k = keys("liquidation_4")
    stmt = liquidation_inputs(liquidatable, market, prices, WAD)
    witness = WitnessCalculator(k.compiled.wasm).calculate(stmt.inputs)
    proof, public = prove(k, witness, tc)
    assert public[0] == str(stmt.commitment)
    assert native_verify(k.vkey(), public, proof).valid
