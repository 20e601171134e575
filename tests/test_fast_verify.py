"""The fast native verifier and batch verification agree with the py_ecc reference."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import optimized_curve as oc
from py_ecc.optimized_bn128.optimized_pairing import final_exponentiate

from zkmargin import api, groth16_fast
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.field import Q, R
from zkmargin.groth16 import verify as reference_verify
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.toolchain import Toolchain

from .test_prove_verify import _proof_edits, _signal_edits, _vkey_edits


@pytest.fixture(scope="module")
def bundles(keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot) -> list[Bundle]:
    keys("liquidation_4")
    out = []
    for i in range(3):
        pos = Position({"WETH": 10 * 10**18}, {"USDC": (22000 + i) * 10**6}, 500 + i)
        out.append(api.prove_liquidation(pos, market, prices, toolchain=tc))
    return out


def test_final_exponentiation_matches_py_ecc() -> None:
    rng = random.Random(9)
    for _ in range(3):
        f = FQ12([rng.randrange(Q) for _ in range(12)])
        assert groth16_fast.final_exponentiation(f) == final_exponentiate(f)


def _random_twist_point(rng: random.Random) -> tuple[FQ2, FQ2, FQ2]:
    while True:
        x = FQ2([rng.randrange(Q), rng.randrange(Q)])
        y2 = x**3 + oc.b2
        y = y2 ** ((Q**2 + 15) // 32)
        if y * y == y2:
            return (x, y, FQ2.one())


def test_fast_g2_membership_matches_multiplication_by_r() -> None:
    rng = random.Random(10)
    cofactor = 2 * Q - R  # #E'(Fp2) = r * (2p - r) for BN254
    for _ in range(8):
        p = _random_twist_point(rng)
        assert groth16_fast.in_g2(p) is oc.is_inf(oc.multiply(p, R)) is False
        cleared = oc.multiply(p, cofactor)
        assert groth16_fast.in_g2(cleared) and oc.is_inf(oc.multiply(cleared, R))
    assert groth16_fast.in_g2(oc.multiply(oc.G2, rng.randrange(R)))


def test_fast_equals_reference_on_valid_and_tampered(bundles: list[Bundle]) -> None:
    b = bundles[0]
    vk, pub, proof = b.vkey, b.public_signals, b.proof
    cases = [("valid", vk, pub, proof)]
    cases += [(f"signal: {n}", vk, p, proof) for n, p in _signal_edits(pub)]
    cases += [(f"proof: {n}", vk, pub, p) for n, p in _proof_edits(proof)]
    cases += [(f"vkey: {n}", v, pub, proof) for n, v in _vkey_edits(vk)]
    for label, v, p, pr in cases:
        fast = groth16_fast.verify(groth16_fast.PreparedKey(v), p, pr)
        ref = reference_verify(v, p, pr)
        assert fast.valid == ref.valid == (label == "valid"), (label, fast, ref)


def test_batch(bundles: list[Bundle]) -> None:
    key = groth16_fast.PreparedKey(bundles[0].vkey)
    items = [(b.public_signals, b.proof) for b in bundles]
    assert groth16_fast.verify_batch(key, items).valid
    assert groth16_fast.verify_batch(key, []).valid
    for i in range(len(items)):  # one bad proof anywhere spoils the batch
        pub = list(items[i][0])
        pub[13] = str(int(pub[13]) + 1)
        bad = [*items[:i], (pub, items[i][1]), *items[i + 1:]]
        assert not groth16_fast.verify_batch(key, bad).valid
    swapped = [(items[0][0], items[1][1]), (items[1][0], items[0][1])]  # proofs exchanged
    assert not groth16_fast.verify_batch(key, swapped).valid
    assert not groth16_fast.verify_batch(key, [*items, ("x", {})]).valid


def test_api_batch_and_backends(bundles: list[Bundle], keys: Callable[[str], CircuitKeys]) -> None:
    assert api.verify_bundles(bundles, vkey=bundles[0].vkey).valid
    assert not api.verify_bundles(bundles, vkey=keys("liquidation_8").vkey()).valid
    for backend in ("native", "reference"):
        assert api.verify_bundle(bundles[1], backend=backend).valid  # type: ignore[arg-type]
