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

from . import build, calldata, groth16_fast, liquidation_step, onchain, perp, pinning, prover, snarkjs_verify
from .commitment import new_salt as new_random_salt
from .bundle import Bundle, Claim, decode_claim, load_bundle, vkey_hash
from .evm import Chain, InProcessChain
from .groth16 import Verification
from .groth16 import verify as native_verify
from .limits import WAD
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
    "batch_blame",
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
    """The answer to "does this bundle prove a statement I accept?".

    `valid` is true only when the proof checks under a key the verifier pinned (`key`) and
    every parameter the verifier pinned (`pinned`) equals the proven one; `unpinned` lists the
    statement's parameters the verifier left to the prover (the claim states them)."""

    valid: bool
    reason: str
    backend: str
    claim: Claim
    key: pinning.TrustedKey
    insecure_setup: bool
    pinned: tuple[str, ...] = ()
    unpinned: tuple[str, ...] = ()
    verifier_address: str | None = None

    def __bool__(self) -> bool:
        return self.valid

    @property
    def vkey_sha256(self) -> str:
        return self.key.sha256

    @property
    def key_pinned(self) -> bool:
        return self.key.pinned

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "backend": self.backend,
            "vkey_sha256": self.key.sha256,
            "key": self.key.to_json(),
            "key_pinned": self.key.pinned,
            "statement_pinned": list(self.pinned),
            "statement_unpinned": list(self.unpinned),
            "insecure_setup": self.insecure_setup,
            "verifier_address": self.verifier_address,
            "claim": self.claim.to_json(),
        }


def verify_bundle(
    bundle: Bundle,
    *,
    backend: Backend = "native",
    vkey: dict[str, Any] | str | Path | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
    keys: pinning.KeyStore | None = None,
    expect: pinning.Expectations | None = None,
    toolchain: Toolchain | None = None,
    chain: Chain | None = None,
    verifier: str | None = None,
    domain: str | None = None,
    now: int | None = None,
    nonce: int | None = None,
    inspect_embedded_key: bool = False,
) -> BundleVerification:
    """Check that a bundle proves a statement the verifier accepts.

    The key comes from the verifier, never from the bundle alone: `vkey` (a dict or a vkey.json
    path), `manifest` (a `zkmargin build --manifest` file pinning circuit and key hash), `keys`
    (a KeyStore such as `pinning.InstalledKeys()`, the keys this installation built), or, for
    backend "evm", the deployed `verifier` contract. Without any of them InputError says how to
    pin. `inspect_embedded_key=True` checks the proof under the bundle's own key for inspection
    only: the result is then never valid.

    `expect` pins the statement's public parameters (market, prices, thresholds, ratio): a bundle
    proven at other values is invalid. backend "evm" calls the Solidity verifier at `verifier`
    on `chain`, or one deployed from the pinned key (default chain: in-process pyrevm).

    A solvency attestation is only valid for the verifier's own `domain` (required), before
    its expiry (checked against `now`, default the current time) and, when `nonce` is
    given, with that nonce."""
    expect = expect or pinning.Expectations()
    claim = decode_claim(bundle, expect.symbols)
    embedded = vkey_hash(bundle.vkey)
    trusted = pinning.resolve_key(bundle, vkey=vkey, manifest=manifest, keys=keys,
                                  verifier=verifier if backend == "evm" else None,
                                  inspect_embedded=inspect_embedded_key)
    statement_problem = pinning.statement_problem(claim, expect)  # raises first for inapplicable options
    attestation_problem = _attestation_problem(claim, domain, now, nonce)

    def result(valid: bool, reason: str, address: str | None = None) -> BundleVerification:
        if valid and not trusted.pinned:
            valid, reason = False, f"NOT VERIFIED (key not pinned; inspection only): under the bundle's own key, {reason}"
        return BundleVerification(valid, reason, backend, claim, trusted,
                                  bool(bundle.setup.get("insecure_dev_ptau", False)),
                                  tuple(expect.pinned()), tuple(pinning.unpinned(claim, expect)), address)

    if embedded != bundle.vkey_sha256:
        return result(False, "embedded verification key does not match vkey_sha256")
    if trusted.circuit not in (None, bundle.circuit):
        return result(False, f"the key {trusted.describe()} is for circuit {trusted.circuit}, not {bundle.circuit}")
    if trusted.sha256 != embedded:
        return result(False, f"bundle was made for a different verification key than the one {trusted.describe()}")
    for problem in (attestation_problem, statement_problem):
        if problem is not None:
            return result(False, problem)
    key = trusted.vkey
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
        v = onchain.verify_onchain(chain, verifier, bundle)
        return result(v.valid, v.reason, verifier)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return result(v.valid, v.reason)


def _attestation_problem(claim: Claim, domain: str | None, now: int | None, nonce: int | None) -> str | None:
    """Why an attestation's context makes it invalid here (None when it does not).
    InputError when no domain is given for an attestation, or one is given for another statement."""
    if not claim.is_attestation:
        if domain is not None or nonce is not None:
            raise InputError("--domain" if domain is not None else "--nonce",
                             f"only applies to attestations, not to a {claim.statement} bundle")
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


def verify_bundles(
    bundles: list[Bundle],
    *,
    vkey: dict[str, Any] | str | Path | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
    keys: pinning.KeyStore | None = None,
    expect: pinning.Expectations | None = None,
    domain: str | None = None,
    now: int | None = None,
) -> Verification:
    """Batch-verify many bundles of one circuit and key: one final exponentiation for all.

    The key is pinned as in verify_bundle (`vkey`, `manifest` or `keys`, resolved for the first
    bundle; every bundle must be for it). Invalid if any proof is invalid, any bundle is for
    another key, proves other parameters than `expect` pins, or is an attestation outside
    `domain` (required for them) or expired; two attestations with the same nonce in one batch
    are invalid (a nonce admits one attestation). Check one by one to find which bundle
    spoiled a batch (`batch_blame`)."""
    if not bundles:
        raise InputError("bundles", "no bundle to verify")
    trusted = pinning.resolve_key(bundles[0], vkey=vkey, manifest=manifest, keys=keys)
    expect = expect or pinning.Expectations()
    for i, problem in enumerate(_batch_problems(bundles, trusted, expect, domain, now)):
        if problem is not None:
            return Verification(False, f"bundle {i}: {problem}")
    return groth16_fast.verify_batch(prepared_key(trusted.vkey), [(b.public_signals, b.proof) for b in bundles])


def _batch_problems(bundles: list[Bundle], trusted: pinning.TrustedKey, expect: pinning.Expectations,
                    domain: str | None, now: int | None) -> list[str | None]:
    """Per bundle, why it cannot pass in this batch before any pairing (None: nothing found)."""
    seen: dict[int, int] = {}
    out: list[str | None] = []
    for i, b in enumerate(bundles):
        claim = decode_claim(b, expect.symbols)
        problem = (pinning.statement_problem(claim, expect) or _attestation_problem(claim, domain, now, None))
        if trusted.circuit not in (None, b.circuit):
            problem = f"the key {trusted.describe()} is for circuit {trusted.circuit}, not {b.circuit}"
        elif vkey_hash(b.vkey) != trusted.sha256 or b.vkey_sha256 != trusted.sha256:
            problem = f"made for a different verification key than the one {trusted.describe()}"
        elif problem is None and claim.is_attestation:
            n = claim.signals["nonce"]
            if n in seen:
                problem = f"attestation nonce {n} already used by bundle {seen[n]} of this batch"
            seen.setdefault(n, i)
        out.append(problem)
    return out


def batch_blame(
    bundles: list[Bundle],
    *,
    vkey: dict[str, Any] | str | Path | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
    keys: pinning.KeyStore | None = None,
    expect: pinning.Expectations | None = None,
    domain: str | None = None,
    now: int | None = None,
) -> list[str | None]:
    """Why each bundle of a failed batch is invalid (None for the good ones): the batch's own
    checks, then each remaining proof on its own."""
    trusted = pinning.resolve_key(bundles[0], vkey=vkey, manifest=manifest, keys=keys)
    expect = expect or pinning.Expectations()
    out = _batch_problems(bundles, trusted, expect, domain, now)
    prepared = prepared_key(trusted.vkey)
    for i, b in enumerate(bundles):
        if out[i] is None:
            v = groth16_fast.verify(prepared, b.public_signals, b.proof)
            out[i] = None if v.valid else v.reason
    return out


def deploy_verifier(chain: Chain, vkey: dict[str, Any], toolchain: Toolchain | None = None) -> str:
    """Deploy snarkjs's Solidity verifier for a verification key you trust; returns the address."""
    return onchain.deploy_verifier(chain, vkey, toolchain or Toolchain.discover())


def measure_gas(
    bundle: Bundle, *, chain: Chain | None = None, verifier: str | None = None, toolchain: Toolchain | None = None
) -> onchain.GasReport:
    """Gas of a successful verifyProof call (deploys a verifier when none is given)."""
    chain = chain or InProcessChain()
    if verifier is None:
        # gas only: the bundle's own key is fine here, nothing is being trusted
        verifier = deploy_verifier(chain, bundle.vkey, toolchain)
    return onchain.measure_gas(chain, verifier, bundle)


def bundle_calldata(bundle: Bundle) -> calldata.ProofCalldata:
    """verifyProof arguments for the bundle (EIP-197 ordering of B)."""
    return calldata.from_proof(bundle.proof, bundle.public_signals)
