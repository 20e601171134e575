"""The native (C) Groth16 prover: its proofs must verify everywhere snarkjs's do, be freshly
blinded, fail when the witness is wrong, and refuse damaged keys and witnesses."""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin import api, groth16_fast, native, native_prover, onchain, prover
from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.errors import ArtifactError, ToolchainError
from zkmargin.evm import InProcessChain
from zkmargin.field import Q, R
from zkmargin.groth16 import verify as reference_verify
from zkmargin.liquidation_step import step_inputs
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import lending
from zkmargin.statements.lending import liquidation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.warm_prover import ProverPool
from zkmargin.witness import InputValue, WitnessCalculator

from .conftest import FIX, native_arith, native_ariths


def _liquidation_8() -> dict[str, InputValue]:
    assets = tuple(Asset(f"T{i}", [18, 6, 8][i % 3], 8000, 10500) for i in range(7))
    prices = PriceSnapshot({a.symbol: PricePoint(10**8 + 7 * i, 1, 1) for i, a in enumerate(assets)})
    pos = Position({"T0": 10**18, "T1": 5 * 10**6}, {"T2": 9 * 10**8}, 4242)
    return liquidation_inputs(pos, Market("seven", assets), prices, 10**18).inputs


def _step_4() -> dict[str, InputValue]:
    assets = (Asset("WETH", 18, 8300, 10500), Asset("USDC", 6, 7800, 10450))
    prices = PriceSnapshot({"WETH": PricePoint(2500 * 10**8, 1, 1), "USDC": PricePoint(10**8, 1, 1)})
    pos = Position({"WETH": 10 * 10**18}, {"USDC": 22000 * 10**6}, 5)
    return step_inputs(pos, Market("step", assets), prices, "WETH", "USDC", 7500 * 10**6, 6)[1]


@pytest.fixture(scope="module")
def chain() -> Iterator[InProcessChain]:
    yield InProcessChain()


def _native(tc: Toolchain) -> Toolchain:
    return dataclasses.replace(tc, prover="c")


def _snarkjs(tc: Toolchain) -> Toolchain:
    return dataclasses.replace(tc, prover="snarkjs")


@pytest.mark.parametrize("circuit", ["liquidation_4", "liquidation_8", "liquidation_step_4_v36"])
def test_native_and_snarkjs_proofs_verify_everywhere(
    circuit: str,
    keys: Callable[[str], CircuitKeys],
    tc: Toolchain,
    market: Market,
    prices: PriceSnapshot,
    liquidatable: Position,
    chain: InProcessChain,
) -> None:
    k = keys(circuit)
    inputs = {
        "liquidation_4": lambda: liquidation_inputs(liquidatable, market, prices, 10**18).inputs,
        "liquidation_8": _liquidation_8,
        "liquidation_step_4_v36": _step_4,
    }[circuit]()
    witness = WitnessCalculator(k.compiled.wasm).calculate(inputs)
    vkey = k.vkey()
    fast = groth16_fast.PreparedKey(vkey)
    verifier = onchain.deploy_verifier(chain, vkey, tc)
    results = {"snarkjs": prover.prove(k, witness, _snarkjs(tc))}
    tabled = native_prover.NativeProver(k.zkey)
    tabled.build_tables()
    for arith in native_ariths():  # the same witness through each field multiplication
        with native_arith(arith):
            results[f"native ({arith})"] = prover.prove(k, witness, _native(tc))
            results[f"native ({arith}, tables)"] = tabled.prove(witness, threads=2)
    n_public = len(k.compiled.public_signals)
    assert all(public == [str(v) for v in witness[1 : 1 + n_public]] for _, public in results.values())
    for name, (proof, public) in results.items():
        assert snarkjs_verify(vkey, public, proof, tc).valid, name
        assert reference_verify(vkey, public, proof).valid, name
        for arith in native_ariths():
            with native_arith(arith):
                assert groth16_fast.verify(fast, public, proof, "c").valid, (name, arith)
        assert groth16_fast.verify(fast, public, proof, "python").valid, name
        bundle = api.make_bundle(k, proof, public, {})
        assert onchain.verify_onchain(chain, verifier, bundle).valid, name


def test_native_proofs_are_freshly_blinded(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot, liquidatable: Position
) -> None:
    k = keys("liquidation_4")
    witness = WitnessCalculator(k.compiled.wasm).calculate(
        liquidation_inputs(liquidatable, market, prices, 10**18).inputs
    )
    (p1, pub1), (p2, pub2) = (prover.prove(k, witness, _native(tc)) for _ in range(2))
    assert pub1 == pub2
    for elem in ("pi_a", "pi_b", "pi_c"):  # r and s differ, so every element differs
        assert p1[elem] != p2[elem]
    fast = groth16_fast.PreparedKey(k.vkey())
    assert groth16_fast.verify(fast, pub1, p1).valid and groth16_fast.verify(fast, pub2, p2).valid


def test_wrong_witness_gives_a_proof_that_fails(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot, liquidatable: Position
) -> None:
    """The prover does not check constraints (neither does snarkjs): a witness that violates one
    yields a proof every verifier refuses."""
    k = keys("liquidation_4")
    witness = WitnessCalculator(k.compiled.wasm).calculate(
        liquidation_inputs(liquidatable, market, prices, 10**18).inputs
    )
    bad = list(witness)
    bad[-1] = (bad[-1] + 1) % R  # a private wire
    proof, public = prover.prove(k, bad, _native(tc))
    assert not groth16_fast.verify(groth16_fast.PreparedKey(k.vkey()), public, proof).valid
    assert not snarkjs_verify(k.vkey(), public, proof, tc).valid


def test_tables_are_built_after_enough_proofs(
    keys: Callable[[str], CircuitKeys],
    market: Market,
    prices: PriceSnapshot,
    liquidatable: Position,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(native_prover, "TABLES_AFTER", 2)
    k = keys("liquidation_4")
    witness = WitnessCalculator(k.compiled.wasm).calculate(
        liquidation_inputs(liquidatable, market, prices, 10**18).inputs
    )
    p = native_prover.NativeProver(k.zkey)
    fast = groth16_fast.PreparedKey(k.vkey())
    for n in range(4):
        proof, public = p.prove(witness)
        assert p.has_tables == (n >= 2) and groth16_fast.verify(fast, public, proof).valid


def test_witness_is_checked(keys: Callable[[str], CircuitKeys]) -> None:
    p = native_prover.NativeProver(keys("liquidation_4").zkey)
    with pytest.raises(ArtifactError, match="witness has"):
        p.prove([1, 2, 3])
    with pytest.raises(ArtifactError, match="scalar field"):
        p.prove([1] + [R] * (p.n_vars - 1))
    with pytest.raises(ArtifactError, match="scalar field"):
        p.prove([1] + [-1] * (p.n_vars - 1))


def _section_offsets(data: bytes) -> dict[int, int]:
    (n,) = struct.unpack_from("<I", data, 8)
    pos, out = 12, {}
    for _ in range(n):
        kind, size = struct.unpack_from("<IQ", data, pos)
        out[kind] = pos + 12
        pos += 12 + size
    return out


def test_damaged_zkeys_are_refused(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    good = keys("liquidation_4").zkey.read_bytes()
    off = _section_offsets(good)
    path = tmp_path / "bad.zkey"

    def refused(data: bytes, match: str) -> None:
        path.write_bytes(data)
        with pytest.raises(ArtifactError, match=match):
            native_prover.NativeProver(path)

    refused(b"nope" + good[4:], "not a zkey")
    first = good[12 : 12 + 12 + struct.unpack_from("<Q", good, 16)[0]]  # section 1, header included
    n = struct.unpack_from("<I", good, 8)[0]
    refused(good[:8] + struct.pack("<I", n + 1) + good[12:] + first, "repeats section 1")
    refused(good[: len(good) // 2], "truncated")
    h = off[2]
    other_q = (Q - 2).to_bytes(32, "little")
    refused(good[: h + 4] + other_q + good[h + 36 :], "not a BN254")
    # a wrong variable count makes every point section the wrong size
    n_vars = struct.unpack_from("<I", good, h + 72)[0]
    refused(good[: h + 72] + struct.pack("<I", n_vars + 1) + good[h + 76 :], "section 5 has")
    # a coefficient naming a signal beyond the witness is caught by the C side, not trusted
    c = off[4] + 4
    path.write_bytes(good[: c + 8] + struct.pack("<I", n_vars + 5) + good[c + 12 :])
    p = native_prover.NativeProver(path)
    with pytest.raises(ArtifactError, match="coefficient indexes outside"):
        p.prove([1] + [0] * (n_vars - 1))


@pytest.fixture()
def no_compiler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process in which the native prover cannot be built (CC names a missing compiler)."""
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr(native, "_lib", None)
    monkeypatch.setattr(native, "_lib_error", None)
    yield


def test_library_is_built_once_into_the_cache(isolated_cache: Path) -> None:
    path = native._library_path()
    assert path.is_relative_to(isolated_cache / "native") and path.is_file()
    mtime = path.stat().st_mtime_ns
    assert native._library_path() == path and path.stat().st_mtime_ns == mtime  # not rebuilt
    assert not list((isolated_cache / "native").glob(".*partial"))


@pytest.mark.slow  # compiles the library twice in a fresh cache
def test_damaged_library_is_rebuilt_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKMARGIN_CACHE_DIR", str(tmp_path))
    path = native._library_path()
    good = path.read_bytes()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one flipped bit
    assert native._library_path() == path and path.read_bytes() == good  # rebuilt from source
    (path.parent / "meta.json").unlink()
    assert native._library_path() == path and (path.parent / "meta.json").is_file()


@pytest.mark.usefixtures("no_compiler")
def test_without_a_compiler_auto_falls_back_to_snarkjs(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot, liquidatable: Position
) -> None:
    assert prover.backend("auto") == "snarkjs"
    with pytest.raises(ToolchainError, match="nonexistent"):
        prover.backend("c")
    b = lending.prove_liquidation(
        liquidatable, market, prices, settings=Settings(toolchain=dataclasses.replace(tc, prover="auto"))
    )
    assert api.verify_bundle(b, keys=InstalledKeys()).valid


@pytest.mark.usefixtures("no_compiler")
def test_cli_prover_c_without_a_compiler_is_an_error(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    keys("liquidation_4")
    out = tmp_path / "b.json"
    res = CliRunner().invoke(
        cli,
        [
            "-q",
            "--prover",
            "c",
            "prove",
            str(FIX / "position-liquidatable.json"),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 2 and "nonexistent" in res.output
    assert not out.exists()


@pytest.mark.node
def test_doctor_names_the_prover() -> None:
    res = CliRunner().invoke(cli, ["doctor", "--json"])
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["prover"] == "c (the C prover)" and data["compiler"]
    assert data["verifier_engine"] == "fast: C engine" and data["native_unavailable"] is None
    res = CliRunner().invoke(cli, ["--prover", "snarkjs", "doctor", "--json"])
    assert json.loads(res.output)["prover"] == "snarkjs (chosen)"


@pytest.mark.node
@pytest.mark.usefixtures("no_compiler")
def test_doctor_without_a_compiler() -> None:
    res = CliRunner().invoke(cli, ["doctor", "--json"])
    data = json.loads(res.output)  # auto falls back, and says why
    assert res.exit_code == 0 and data["prover"].startswith("snarkjs (fallback: ") and "nonexistent" in data["prover"]
    assert data["verifier_engine"].startswith("fast: pure-Python engine (no C library: ")
    res = CliRunner().invoke(cli, ["--prover", "c", "doctor", "--json"])
    assert res.exit_code == 2 and json.loads(res.output)["prover"].startswith("c unavailable")


def test_unknown_backend_is_an_input_error() -> None:
    with pytest.raises(Exception, match="--prover: must be one of auto, c, snarkjs"):
        prover.backend("rapidsnark")


@pytest.mark.parametrize("backend", ["c", "snarkjs"])
def test_pool_backends_prove_in_order(
    backend: str, keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot
) -> None:
    k = keys("liquidation_4")
    calc = WitnessCalculator(k.compiled.wasm)
    ws = [
        calc.calculate(
            liquidation_inputs(
                Position({"WETH": 10 * 10**18}, {"USDC": (22000 + i) * 10**6}, 900 + i), market, prices, 10**18
            ).inputs
        )
        for i in range(4)
    ]
    with ProverPool(k, dataclasses.replace(tc, prover=backend), size=2) as pool:
        assert pool.backend == backend
        results = pool.prove_many(ws)
        assert (pool.workers() == []) == (backend == "c")
    fast = groth16_fast.PreparedKey(k.vkey())
    n_public = len(k.compiled.public_signals)
    assert [pub for _, pub in results] == [[str(v) for v in w[1 : 1 + n_public]] for w in ws]
    assert all(groth16_fast.verify(fast, pub, proof).valid for proof, pub in results)
