"""Compilation, setup and the artifact cache."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from zkmargin import build, paths, ptau, registry
from zkmargin.build import CircuitKeys
from zkmargin.errors import ArtifactError
from zkmargin.poseidon import N_ROUNDS_F, N_ROUNDS_P
from zkmargin.toolchain import Toolchain


def _poseidon_constraints(n_inputs: int, constant_inputs: int = 0) -> int:
    """circomlib Poseidon(n): 3 constraints per x^5 S-box, t = n + 1 S-boxes in each of
    the 8 full rounds and 1 in each partial round; an S-box on a compile-time constant
    (the zero capacity element and any constant input, in the first round) is free."""
    t = n_inputs + 1
    return 3 * (N_ROUNDS_F * t + N_ROUNDS_P[t - 2]) - 3 * (1 + constant_inputs)


def _expected_constraints(n: int, e: int) -> int:
    """Derivation of the liquidation circuit's size (circom --O2), per component (each count was
    also measured by compiling the template alone):
    AssetParams = 307: price < 2^64 (64), price != 0 (1), LT < 2^14 (14), LT <= 10000
                  (LessEqThan(14): 14 once its constant top bit folds), Pow10 (14), two indexes in
                  [1 ray, 1 ray + 2^100) (2 x 100).
    AssetValuation = 1374: two scaled balances < 2^128 (256); two rayMul DivRound(128, 90) by the
                  constant 1 ray (q < 2^128: 128, rem < 2^90: 90, rem < 1 ray: 90, q * RAY + rem =
                  scaled * index: 1) = 2 x 309; two values DivRound(128, 60) (128 + 60 + 60,
                  n = balance * price: 1, q * scale: 1) = 2 x 250.
    SlotAccount = 8: IsZero(LT) (2), v3.5's exclusion, counted, the eMode LT, value * LT,
                  counted * weighted, counted * value (1 each).
    RulesVersion = 6 (three IsEqual); flags Num2Bits(N) = N.
    EModeSelect without bonus = 10 + 5E + E(28 + N) + N: category < 2^8 (8), IsZero (2), per entry
                  IsEqual (2), selection (1), LT and bitmap terms (2), and the entry checked whether
                  selected or not: LT <= 10000 (14 + 14), bitmap < 2^N (N); the selected bitmap's bits (N).
    HealthFactorCompare = 400 + 2L, L = ceil(log2 N): t < 2^64 (64), bit of TD (1), TD/2 < 2^(128+L),
                  t * TD (1), LessThan(206 + L) (207 + L).
    Commitment = 2 Poseidon(N) + Poseidon(6) with the constant tag."""
    lg = (n - 1).bit_length()
    commitment = 2 * _poseidon_constraints(n) + _poseidon_constraints(6, constant_inputs=1)
    return n * (307 + 1374 + 8) + 6 + n + (10 + 5 * e + e * (28 + n) + n) + (400 + 2 * lg) + commitment


@pytest.mark.parametrize(("circuit_id", "pinned"), [("liquidation_4", 8277), ("liquidation_8", 15269)])
def test_constraint_counts_are_pinned(keys: Callable[[str], CircuitKeys], circuit_id: str, pinned: int) -> None:
    k = keys(circuit_id)
    spec = registry.get(circuit_id)
    assert k.compiled.n_constraints == pinned
    assert _expected_constraints(spec.n_assets, spec.n_emode) == pinned
    assert ptau.required_power(pinned, len(k.compiled.public_signals)) <= 14


def test_hashed_and_step_counts_are_pinned(tc: Toolchain) -> None:
    """The hashed layout adds its hashes to the same statement: ChunkedHash(N) of the prices,
    ChunkedHash(2N) of the indexes, Poseidon(2N) of decimals and LTs, Poseidon(3E) of the eMode
    table and Poseidon(3) over the version and both. The 8-slot hashed layout needs a 2^15 ptau.
    LiquidationStep(4, 4, V) = AccountData 7937 (the Liquidation circuit's per-slot and fixed parts,
    with the eMode bonuses: their 4 terms and 4 range checks < 2^15) + HealthFactorCompare 404 + the
    new commitment 945 + 6113 for the call itself (v3.6); v3.5 adds 1 (flag x LT), v3.7 adds 693 (its
    deficit detection on the consumed scaled balance: a capped sum, rayMulFloor, a value, two IsEqual)."""
    p = _poseidon_constraints

    def chunked(k: int) -> int:
        return p(k) if k <= 4 else (k // 4) * p(4) + p(k // 4)

    for n, e in ((4, 4), (8, 4)):
        hashed = (_expected_constraints(n, e) + chunked(n) + chunked(2 * n) + p(2 * n) + p(3 * e) + p(3))
        compiled = build.compile_circuit(registry.get(f"liquidation_hashed_{n}"), tc)
        assert compiled.n_constraints == hashed
    assert ptau.required_power(build.compile_circuit(registry.get("liquidation_hashed_8"), tc).n_constraints, 5) == 15
    emode = 10 + 5 * 4 + 4 * (28 + 4) + 4 + 4 + 4 * 15  # with the bonus terms and ranges
    account = 4 * (307 + 1374 + 8) + 6 + 4 + emode + 2 * p(4) + p(6, constant_inputs=1)
    assert account == 7937
    for version, extra in (("v35", 1), ("v36", 0), ("v37", 693)):
        compiled = build.compile_circuit(registry.get(f"liquidation_step_4_{version}"), tc)
        assert compiled.n_constraints == account + 404 + (2 * p(4) + p(6, constant_inputs=1)) + 6113 + extra
        assert ptau.required_power(compiled.n_constraints, len(compiled.public_signals)) <= 14


def test_public_signals_follow_the_registry(keys: Callable[[str], CircuitKeys]) -> None:
    k = keys("liquidation_4")
    slots = ["price", "liquidityIndex", "borrowIndex", "decimals", "liqThreshold"]
    emode = ["emodeId", "emodeLiqThreshold", "emodeCollateralBitmap"]
    assert k.compiled.public_signals == (
        ["commitment", "rulesVersion"] + [f"{a}[{i}]" for a in slots for i in range(4)]
        + [f"{a}[{i}]" for a in emode for i in range(4)] + ["hfThreshold"]
    )
    assert k.vkey()["nPublic"] == 35 == len(registry.get("liquidation_4").public_signal_names())


def test_cached_build_is_reused_and_rechecked(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    k = keys("liquidation_4")
    again = build.build(registry.get("liquidation_4"), tc)
    assert again.dir == k.dir and again.meta == k.meta


def test_corrupted_cache_is_rebuilt_not_trusted(tc: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                keys: Callable[[str], CircuitKeys]) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path))
    src = keys("liquidation_4").compiled.dir
    spec = registry.get("liquidation_4")
    dst = paths.compile_dir(spec.id, src.name)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("setup-*"))
    (dst / paths.WASM).write_bytes(b"\0asm truncated")
    compiled = build.compile_circuit(spec, tc)
    assert compiled.dir == dst
    assert paths.sha256_file(compiled.wasm) == paths.sha256_file(src / paths.WASM)
    assert not list(tmp_path.rglob("*.partial"))


def test_sources_change_the_cache_key(tc: Toolchain) -> None:
    spec = registry.get("liquidation_4")
    k1 = paths.compile_key(spec.id, spec.as_dict(), tc.fingerprint)
    k2 = paths.compile_key(spec.id, {**spec.as_dict(), "params": [5]}, tc.fingerprint)
    k3 = paths.compile_key(spec.id, spec.as_dict(), {**tc.fingerprint, "snarkjs": "0.0.0"})
    assert len({k1, k2, k3}) == 3


def test_dev_ptau_is_the_pinned_file() -> None:
    info = ptau.inspect(paths.DEV_PTAU)
    assert info.sha256 == ptau.dev_ptau_sha256()
    assert info.is_dev and info.power == 15


def test_ptau_too_small_is_a_clear_error(keys: Callable[[str], CircuitKeys], tc: Toolchain,
                                         small_ptaus: tuple[Path, Path]) -> None:
    compiled = keys("liquidation_4").compiled
    with pytest.raises(ArtifactError, match=r"power 8 are too small .* needs power >= 14"):
        build.setup_circuit(compiled, tc, small_ptaus[0])


def test_unprepared_ptau_is_a_clear_error(small_ptaus: tuple[Path, Path]) -> None:
    with pytest.raises(ArtifactError, match="not prepared for phase 2"):
        ptau.inspect(small_ptaus[1])


@pytest.mark.parametrize("content", [b"", b"ptau", b"not a ptau at all", b"ptau\x01\x00\x00\x00\x05\x00\x00\x00"])
def test_garbage_ptau_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "x.ptau"
    p.write_bytes(content)
    with pytest.raises(ArtifactError):
        ptau.inspect(p)
