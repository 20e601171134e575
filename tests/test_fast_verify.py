"""The fast native verifiers (the C engine and the pure-Python one) and batch verification
agree with the py_ecc reference, on valid and invalid proofs."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import optimized_curve as oc
from py_ecc.optimized_bn128.optimized_pairing import final_exponentiate

from zkmargin import api, bn254, groth16_fast, native
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.field import Q, R
from zkmargin.groth16 import verify as reference_verify
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.toolchain import Toolchain

from .conftest import native_arith
from .test_prove_verify import _proof_edits, _signal_edits, _vkey_edits


@pytest.fixture(scope="module")
def bundles(keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot) -> list[Bundle]:
    keys("liquidation_4")
    out = []
    for i in range(3):
        pos = Position({"WETH": 10 * 10**18}, {"USDC": (22000 + i) * 10**6}, 500 + i)
        out.append(lending.prove_liquidation(pos, market, prices, settings=Settings(toolchain=tc)))
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


def _affine(p: tuple[FQ2, FQ2, FQ2]) -> tuple[bn254.F2, bn254.F2]:
    x, y = oc.normalize(p)
    return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))


def test_context_fills_the_c_struct() -> None:
    """native.ctx() is laid out as pairing.c's struct ctx: same size (a field added on one side
    only would shift every constant after it), and its GLV constants are G1's endomorphism."""
    assert len(native.ctx()) == native.library().zkm_ctx_size()
    beta, lam = bn254.glv()
    assert pow(beta, 3, Q) == 1 != beta and pow(lam, 3, R) == 1 != lam
    p = oc.multiply(oc.G1, 12345)
    assert oc.eq((p[0] * beta, p[1], p[2]), oc.multiply(p, lam))


@pytest.mark.parametrize("arith", ["adx", "portable"])
def test_fast_g2_membership_matches_multiplication_by_r(arith: str) -> None:
    """The membership test groth16_format runs, in Python and in C (both field multiplications),
    against [r]Q == 0."""
    with native_arith(arith):
        _g2_membership()


def _g2_membership() -> None:
    rng = random.Random(10)
    cofactor = 2 * Q - R  # #E'(Fp2) = r * (2p - r) for BN254
    for _ in range(8):
        p = _random_twist_point(rng)
        assert bn254.in_g2(*_affine(p)) is native.g2_in_subgroup(*_affine(p)) is oc.is_inf(oc.multiply(p, R)) is False
        cleared = oc.multiply(p, cofactor)
        assert bn254.in_g2(*_affine(cleared)) and native.g2_in_subgroup(*_affine(cleared))
        assert oc.is_inf(oc.multiply(cleared, R))
    member = _affine(oc.multiply(oc.G2, rng.randrange(R)))
    assert bn254.in_g2(*member) and native.g2_in_subgroup(*member)
    x, y = _affine(_random_twist_point(rng))
    off = (x, ((y[0] + 1) % Q, y[1]))
    assert not bn254.on_twist(*off) and not native.g2_in_subgroup(*off)
    blob = b"".join(c.to_bytes(32, "little") for c in (*off[0], *off[1]))
    assert native.library().zkm_g2_in_subgroup(blob, native.ctx()) == -1
    assert native.library().zkm_g2_in_subgroup(bytes(128), native.ctx()) == -1  # (0, 0) is not infinity


def test_off_curve_and_off_subgroup_points_are_named(bundles: list[Bundle]) -> None:
    b = bundles[0]
    key = groth16_fast.PreparedKey(b.vkey)
    rng = random.Random(11)
    x, y = oc.normalize(_random_twist_point(rng))
    outside = [[str(c) for c in x.coeffs], [str(c) for c in y.coeffs], ["1", "0"]]
    cases = {
        "proof.pi_a": ({**b.proof, "pi_a": ["1", "3", "1"]}, "is not on the BN254 curve"),
        "proof.pi_b": ({**b.proof, "pi_b": outside}, "not in G2"),
        "proof.pi_c": ({**b.proof, "pi_c": ["1", "3", "1"]}, "is not on the BN254 curve"),
    }
    twisted = {**b.proof, "pi_b": [outside[0], [outside[1][1], outside[1][0]], ["1", "0"]]}
    for field, (proof, reason) in [*cases.items(), ("proof.pi_b", (twisted, "is not on the BN254 twist"))]:
        for engine in ("c", "python"):
            with pytest.raises(InputError) as e:
                groth16_fast.verify(key, b.public_signals, proof, engine)  # type: ignore[arg-type]
            assert e.value.field == field and reason in e.value.detail, (engine, e.value)
            with pytest.raises(InputError) as e:
                groth16_fast.verify_batch(key, [(b.public_signals, b.proof), (b.public_signals, proof)], engine)  # type: ignore[arg-type]
            assert e.value.field == f"items[1].{field}"


@pytest.mark.parametrize("engine", ["c-adx", "c-portable", "python"])
def test_fast_equals_reference_on_valid_and_tampered(bundles: list[Bundle], engine: str) -> None:
    if engine.startswith("c-"):
        with native_arith(engine[2:]):
            _fast_equals_reference(bundles, "c")
    else:
        _fast_equals_reference(bundles, "python")


def _fast_equals_reference(bundles: list[Bundle], engine: groth16_fast.Engine) -> None:
    b = bundles[0]
    vk, pub, proof = b.vkey, b.public_signals, b.proof
    cases = [("valid", vk, pub, proof)]
    cases += [(f"signal: {n}", vk, p, proof) for n, p in _signal_edits(pub)]
    cases += [(f"proof: {n}", vk, pub, p) for n, p in _proof_edits(proof)]
    cases += [(f"vkey: {n}", v, pub, proof) for n, v in _vkey_edits(vk)]
    for label, v, p, pr in cases:
        fast = groth16_fast.verify(groth16_fast.PreparedKey(v), p, pr, engine)
        ref = reference_verify(v, p, pr)
        assert fast.valid == ref.valid == (label == "valid"), (label, fast, ref)


@pytest.mark.parametrize("engine,threads", [("c-adx", 1), ("c-adx", 2), ("c-portable", 2), ("python", None)])
def test_batch(bundles: list[Bundle], engine: str, threads: int | None) -> None:
    if engine.startswith("c-"):
        with native_arith(engine[2:]):
            _batch(bundles, "c", threads)
    else:
        _batch(bundles, "python", threads)


def _batch(bundles: list[Bundle], engine: groth16_fast.Engine, threads: int | None) -> None:
    key = groth16_fast.PreparedKey(bundles[0].vkey)
    items = [(b.public_signals, b.proof) for b in bundles]

    def batch(its: list[tuple[object, object]]) -> bool:
        return groth16_fast.verify_batch(key, its, engine, threads).valid

    assert batch(items) and batch([]) and batch(items * 6)
    for i in range(len(items)):  # one bad proof anywhere spoils the batch
        pub = list(items[i][0])
        pub[13] = str(int(pub[13]) + 1)
        bad = [*items[:i], (pub, items[i][1]), *items[i + 1 :]]
        assert not batch(bad)
        assert not batch(bad * 6)  # also when the batch is shared among threads
    swapped = [(items[0][0], items[1][1]), (items[1][0], items[0][1])]  # proofs exchanged
    assert not batch(swapped)
    with pytest.raises(InputError) as e:  # malformed is not invalid: it is refused before any pairing
        batch([*items, ("x", {})])
    assert e.value.field == "items[3].public_signals"


def test_cli_verify_batch_names_the_bad_bundles(
    bundles: list[Bundle], keys: Callable[[str], CircuitKeys], tmp_path: Path
) -> None:
    paths = []
    for i, b in enumerate(bundles):
        paths.append(tmp_path / f"b{i}.json")
        b.save(paths[-1])
    vkey = tmp_path / "vkey.json"
    vkey.write_text(json.dumps(bundles[0].vkey))
    runner = CliRunner()
    res = runner.invoke(cli, ["verify-batch", *map(str, paths), "--vkey", str(vkey), "--json"])
    out = json.loads(res.output)
    assert res.exit_code == 0 and out["ok"] and out["count"] == 3 and out["invalid"] == []
    doc = json.loads(paths[1].read_text())
    doc["public_signals"][13] = str(int(doc["public_signals"][13]) + 1)  # one tampered bundle
    paths[1].write_text(json.dumps(doc))
    res = runner.invoke(cli, ["verify-batch", *map(str, paths), "--vkey", str(vkey), "--json"])
    out = json.loads(res.output)
    assert res.exit_code == 1 and not out["ok"] and [i["bundle"] for i in out["invalid"]] == [str(paths[1])]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(keys("liquidation_8").vkey()))
    res = runner.invoke(cli, ["verify-batch", str(paths[0]), str(paths[2]), "--vkey", str(other)])
    assert res.exit_code == 1 and "different verification key" in res.output and res.output.count("b") >= 2
    res = runner.invoke(cli, ["verify-batch", "--vkey", str(vkey)])
    assert res.exit_code == 2  # no bundles


def test_api_batch_and_backends(bundles: list[Bundle], keys: Callable[[str], CircuitKeys]) -> None:
    assert api.verify_bundles(bundles, vkey=bundles[0].vkey).valid
    assert not api.verify_bundles(bundles, vkey=keys("liquidation_8").vkey()).valid
    for backend in ("fast", "reference"):
        assert api.verify_bundle(bundles[1], keys=InstalledKeys(), verifier=backend).valid  # type: ignore[arg-type]
