"""The Python API: prove a statement about a committed position, verify a bundle.

    from zkmargin import api
    bundle = api.load_bundle("liq.json")
    result = api.verify_bundle(bundle, vkey="vkey.json")   # pin the key you trust
    if result.valid:
        print(result.claim.describe())
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import build, calldata, groth16_fast, liquidation_step, onchain, perp, prover, snarkjs_verify
from .commitment import new_salt as new_random_salt
from .bundle import Bundle, Claim, decode_claim, load_bundle, vkey_hash
from .evm import Chain, InProcessChain
from .groth16 import Verification
from .groth16 import verify as native_verify
from .limits import WAD
from .loaders import read_json
from .model import Market, Position, PriceSnapshot
from .progress import NullProgress, Progress
from .errors import InputError
from .statements import (
    AttestationContext,
    StatementInputs,
    attestation_inputs,
    domain_hash,
    liquidation_hashed_inputs,
    liquidation_inputs,
)
from .toolchain import Toolchain
from .registry import CircuitSpec
from .witness import InputValue, WitnessCalculator

Backend = Literal["native", "reference", "snarkjs", "evm"]

__all__ = [
    "BundleVerification",
    "bundle_calldata",
    "deploy_verifier",
    "load_bundle",
    "measure_gas",
    "attest_perp_margin",
    "attest_solvency",
    "prove_liquidation",
    "prove_liquidation_hashed",
    "prove_liquidation_step",
    "prove_perp_liquidation",
    "verify_bundle",
    "verify_bundles",
]


def prove_liquidation(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    threshold: int = WAD,
    *,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Prove that the committed position has HF < threshold (WAD) at these prices.

    Raises StatementFalse (with the health factor) before any proving when the
    position is not liquidatable, InputError for values the circuit cannot hold.
    """
    stmt = liquidation_inputs(position, market, prices, threshold)
    return _prove(stmt, market, prices, {}, ptau, toolchain, progress)


def prove_liquidation_hashed(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    threshold: int = WAD,
    *,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """prove_liquidation with prices and risk parameters as two Poseidon hashes (4 public inputs)."""
    stmt = liquidation_hashed_inputs(position, market, prices, threshold)
    return _prove(stmt, market, prices, {}, ptau, toolchain, progress)


def attest_solvency(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    min_hf: int,
    context: AttestationContext,
    *,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Prove HF >= min_hf (WAD) for one verifier domain, until context.expiry, with context.nonce.

    Raises StatementFalse (with the health factor) when the position is below min_hf."""
    stmt = attestation_inputs(position, market, prices, min_hf, context)
    return _prove(stmt, market, prices, {"domain": context.domain}, ptau, toolchain, progress)


def prove_liquidation_step(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    *,
    new_salt: int | None = None,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> tuple[Bundle, Position]:
    """Prove one Aave v3.5 liquidation call on a committed position.

    Returns the bundle and the position after the call (its opening, with a fresh salt from
    the OS CSPRNG unless given): whoever holds the position next needs it."""
    salt = new_salt if new_salt is not None else new_random_salt()
    spec, inputs, outcome = liquidation_step.step_inputs(
        position, market, prices, collateral_asset, debt_asset, debt_to_cover, salt)
    bundle = _prove_inputs(spec, inputs, lending_context(market, prices), ptau, toolchain, progress)
    return bundle, outcome.new_position


def prove_perp_liquidation(
    account: perp.PerpAccount,
    markets: perp.PerpMarkets,
    quotes: dict[str, perp.PerpQuote],
    ratio_bps: int = 10_000,
    *,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Prove equity < ratio x maintenance margin (10000 bps: liquidatable) for a committed perp account."""
    spec, inputs, _ = perp.perp_inputs("perp_liquidation", account, markets, quotes, ratio_bps)
    return _prove_inputs(spec, inputs, _perp_context(markets), ptau, toolchain, progress)


def attest_perp_margin(
    account: perp.PerpAccount,
    markets: perp.PerpMarkets,
    quotes: dict[str, perp.PerpQuote],
    ratio_bps: int,
    context: AttestationContext,
    *,
    ptau: Path | None = None,
    toolchain: Toolchain | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Prove equity >= ratio x maintenance margin for one verifier domain, until an expiry."""
    spec, inputs, _ = perp.perp_inputs("perp_attestation", account, markets, quotes, ratio_bps, context)
    ctx = {**_perp_context(markets), "domain": context.domain}
    return _prove_inputs(spec, inputs, ctx, ptau, toolchain, progress)


def _perp_context(markets: perp.PerpMarkets) -> dict[str, Any]:
    return {"note": "informational, not bound by the proof", "market": markets.name, "assets": list(markets.symbols),
            "created_at": int(time.time())}


def lending_context(market: Market, prices: PriceSnapshot, **extra: Any) -> dict[str, Any]:
    """The informational part of a lending bundle: names and oracle rounds, not proven."""
    return {
        "note": "informational, not bound by the proof",
        "market": market.name,
        "assets": list(market.symbols),
        "oracle": {s: {"roundId": str(p.round_id), "updatedAt": p.updated_at} for s, p in prices.prices.items()},
        "created_at": int(time.time()),
        **extra,
    }


def _prove(
    stmt: StatementInputs,
    market: Market,
    prices: PriceSnapshot,
    extra_context: dict[str, Any],
    ptau: Path | None,
    toolchain: Toolchain | None,
    progress: Progress | None,
) -> Bundle:
    context = lending_context(market, prices, **extra_context)
    return _prove_inputs(stmt.spec, stmt.inputs, context, ptau, toolchain, progress)


def _prove_inputs(
    spec: CircuitSpec,
    inputs: dict[str, InputValue],
    context: dict[str, Any],
    ptau: Path | None,
    toolchain: Toolchain | None,
    progress: Progress | None,
) -> Bundle:
    progress = progress or NullProgress()
    tc = toolchain or Toolchain.discover()
    keys = build.build(spec, tc, ptau, progress)
    with progress.step("computing the witness (wasmtime)"):
        witness = WitnessCalculator(keys.compiled.wasm).calculate(inputs)
    with progress.step(f"proving ({prover.backend(tc.prover)} groth16)"):
        proof, public = prover.prove(keys, witness, tc)
    return make_bundle(keys, proof, public, context)


def make_bundle(keys: build.CircuitKeys, proof: dict[str, Any], public: list[str], context: dict[str, Any]) -> Bundle:
    """A bundle for a proof made with `keys`."""
    vkey = keys.vkey()
    spec = keys.compiled.spec
    return Bundle(
        statement=spec.statement,
        circuit=spec.id,
        public_signals=public,
        proof=proof,
        vkey=vkey,
        vkey_sha256=vkey_hash(vkey),
        setup={
            "circuit_key": keys.compiled.meta["key"],
            "ptau_sha256": keys.meta["ptau"]["sha256"],
            "insecure_dev_ptau": keys.insecure,
        },
        context=context,
    )


@dataclass(frozen=True)
class BundleVerification:
    valid: bool
    reason: str
    backend: str
    claim: Claim
    vkey_sha256: str
    key_pinned: bool
    insecure_setup: bool
    verifier_address: str | None = None

    def __bool__(self) -> bool:
        return self.valid

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "backend": self.backend,
            "vkey_sha256": self.vkey_sha256,
            "key_pinned": self.key_pinned,
            "insecure_setup": self.insecure_setup,
            "verifier_address": self.verifier_address,
            "claim": self.claim.to_json(),
        }


def verify_bundle(
    bundle: Bundle,
    *,
    backend: Backend = "native",
    vkey: dict[str, Any] | str | Path | None = None,
    toolchain: Toolchain | None = None,
    chain: Chain | None = None,
    verifier: str | None = None,
    domain: str | None = None,
    now: int | None = None,
    nonce: int | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
) -> BundleVerification:
    """Check a bundle's proof. Pass `vkey` (a dict or a vkey.json path) to pin the key
    you trust; without it the bundle's embedded key is used, which proves only that
    *some* key accepts the proof.

    backend "evm" calls a Solidity verifier: the one at `verifier` on `chain`, or one
    deployed from the (pinned or embedded) key on `chain` (default: in-process pyrevm).

    A solvency attestation is only valid for the verifier's own `domain` (required), before
    its expiry (checked against `now`, default the current time) and, when `nonce` is
    given, with that nonce. With `manifest` (a `zkmargin build --manifest` file), the bundle
    must be for that manifest's circuit and verification key."""
    claim = decode_claim(bundle)
    embedded = vkey_hash(bundle.vkey)
    insecure = bool(bundle.setup.get("insecure_dev_ptau", False))

    def result(v: Verification, key_hash: str, pinned: bool, address: str | None = None) -> BundleVerification:
        return BundleVerification(v.valid, v.reason, backend, claim, key_hash, pinned, insecure, address)

    problem = _attestation_problem(claim, domain, now, nonce)
    if problem is not None:
        return result(Verification(False, problem), embedded, vkey is not None)
    if manifest is not None:
        m = read_json(manifest, "manifest") if isinstance(manifest, (str, Path)) else manifest
        if not isinstance(m, dict) or m.get("format") != build.MANIFEST_FORMAT:
            raise InputError("--manifest", f"not a {build.MANIFEST_FORMAT} file")
        if m.get("circuit") != bundle.circuit or m.get("vkey_sha256") != embedded:
            return result(Verification(False, f"bundle does not match the manifest (circuit {m.get('circuit')}, "
                                              f"vkey {str(m.get('vkey_sha256'))[:16]}...)"), embedded, True)
    if embedded != bundle.vkey_sha256:
        return result(Verification(False, "embedded verification key does not match vkey_sha256"), embedded, False)
    key = bundle.vkey
    pinned = vkey is not None
    if vkey is not None:
        key = read_json(vkey, "vkey") if isinstance(vkey, (str, Path)) else vkey
        if vkey_hash(key) != embedded:
            return result(Verification(False, "bundle was made for a different verification key"), vkey_hash(key), True)
    if backend == "native":
        v = groth16_fast.verify(prepared_key(key), bundle.public_signals, bundle.proof)
    elif backend == "reference":
        v = native_verify(key, bundle.public_signals, bundle.proof)
    elif backend == "snarkjs":
        v = snarkjs_verify.verify(key, bundle.public_signals, bundle.proof, toolchain or Toolchain.discover())
    elif backend == "evm":
        chain = chain or InProcessChain()
        if verifier is None:
            verifier = onchain.deploy_verifier(chain, key, toolchain or Toolchain.discover())
        return result(onchain.verify_onchain(chain, verifier, bundle), embedded, pinned, verifier)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return result(v, embedded, pinned)


def _attestation_problem(claim: Claim, domain: str | None, now: int | None, nonce: int | None) -> str | None:
    """Why an attestation's context makes it invalid here (None when it does not, or for
    statements that are not attestations). Raises InputError when no domain is given."""
    if not claim.is_attestation:
        return None
    if domain is None:
        raise InputError("--domain", "a solvency attestation is bound to a verifier domain: pass the domain "
                         "you verify for")
    moment = int(time.time()) if now is None else now
    if domain_hash(domain) != claim.signals["domain"]:
        return f"attestation is for another domain than {domain!r}"
    if moment >= claim.signals["expiry"]:
        return f"attestation expired at {claim.signals['expiry']} (now {moment})"
    if nonce is not None and nonce != claim.signals["nonce"]:
        return f"attestation nonce {claim.signals['nonce']} is not {nonce}"
    return None


_PREPARED: dict[str, groth16_fast.PreparedKey] = {}


def prepared_key(vkey: dict[str, Any]) -> groth16_fast.PreparedKey:
    """The fast verifier's per-key precomputation, cached by the key's hash for this process."""
    h = vkey_hash(vkey)
    if h not in _PREPARED:
        if len(_PREPARED) > 32:
            _PREPARED.clear()
        _PREPARED[h] = groth16_fast.PreparedKey(vkey)
    return _PREPARED[h]


def verify_bundles(bundles: list[Bundle], *, vkey: dict[str, Any] | str | Path, domain: str | None = None,
                   now: int | None = None) -> Verification:
    """Batch-verify many bundles made for one (pinned) verification key: one final
    exponentiation for all. Invalid if any proof is invalid, or any bundle is for another key;
    attestations are held to `domain` (required for them) and expiry as in verify_bundle.
    Check one by one to find which bundle spoiled a batch."""
    key = read_json(vkey, "vkey") if isinstance(vkey, (str, Path)) else vkey
    h = vkey_hash(key)
    for i, b in enumerate(bundles):
        if vkey_hash(b.vkey) != h or b.vkey_sha256 != h:
            return Verification(False, f"bundle {i} was made for a different verification key")
        problem = _attestation_problem(decode_claim(b), domain, now, None)
        if problem is not None:
            return Verification(False, f"bundle {i}: {problem}")
    return groth16_fast.verify_batch(prepared_key(key), [(b.public_signals, b.proof) for b in bundles])


def deploy_verifier(chain: Chain, bundle_or_vkey: Bundle | dict[str, Any], toolchain: Toolchain | None = None) -> str:
    """Deploy snarkjs's Solidity verifier for a bundle's key (or a vkey dict); returns the address."""
    key = bundle_or_vkey.vkey if isinstance(bundle_or_vkey, Bundle) else bundle_or_vkey
    return onchain.deploy_verifier(chain, key, toolchain or Toolchain.discover())


def measure_gas(
    bundle: Bundle, *, chain: Chain | None = None, verifier: str | None = None, toolchain: Toolchain | None = None
) -> onchain.GasReport:
    """Gas of a successful verifyProof call (deploys a verifier when none is given)."""
    chain = chain or InProcessChain()
    if verifier is None:
        verifier = deploy_verifier(chain, bundle, toolchain)
    return onchain.measure_gas(chain, verifier, bundle)


def bundle_calldata(bundle: Bundle) -> calldata.ProofCalldata:
    """verifyProof arguments for the bundle (EIP-197 ordering of B)."""
    return calldata.from_proof(bundle.proof, bundle.public_signals)
