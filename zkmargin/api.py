"""The Python API: prove a statement, verify a bundle, through the Statement interface
(zkmargin.statement) and the one interface per prover and verifier (zkmargin.prover,
zkmargin.verifiers); it knows no statement by name.

    from zkmargin import api
    from zkmargin.pinning import Expectations
    bundle = api.load_bundle("liq.json")
    result = api.verify_bundle(bundle, vkey="vkey.json")   # pin the key you trust
    if result.valid:
        print(result.claim.describe())

Proving goes through a statement module (zkmargin.statements.lending, .step, .perp), e.g.
`lending.prove_liquidation(position, market, prices, settings=Settings(ptau=...))`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import build, calldata, groth16_fast, pinning, prover, verifiers
from .attestation import domain_hash
from .bundle import Bundle, Claim, decode_claim, load_bundle, vkey_hash
from .errors import InputError
from .groth16 import Verification
from .settings import Settings
from .statement import Statement, StatementInputs
from .witness import WitnessCalculator

if TYPE_CHECKING:
    from .evm import Chain
    from .onchain import GasReport

R = TypeVar("R")

__all__ = [
    "BundleVerification",
    "Settings",
    "batch_blame",
    "bundle_calldata",
    "decode_claim",
    "deploy_verifier",
    "load_bundle",
    "measure_gas",
    "prove",
    "prove_inputs",
    "verify_bundle",
    "verify_bundles",
]


def prove(statement: Statement[R], request: R, settings: Settings | None = None) -> Bundle:
    """Prove `request` for `statement` (its inputs, then a Groth16 proof and a bundle).
    StatementFalse before any proving when the statement does not hold."""
    return prove_inputs(statement.inputs(request), settings)


def prove_inputs(si: StatementInputs, settings: Settings | None = None) -> Bundle:
    """Build the keys (cached), compute the witness and prove; the bundle carries si.context."""
    settings = settings or Settings()
    progress = settings.progress
    with settings.active():
        tc = settings.tc()
        keys = build.build(si.spec, tc, settings.ptau, progress)
        with progress.step("computing the witness (wasmtime)"):
            witness = WitnessCalculator(keys.compiled.wasm).calculate(si.inputs)
        p = prover.get(tc, progress)
        with progress.step(f"proving ({p.name} groth16)"):
            proof, public = p.prove(keys, witness)
    return make_bundle(keys, proof, public, si.context)


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
    backend: str  # the verifier's name (zkmargin.verifiers)
    engine: str  # what ran, e.g. "fast: C engine"
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
            "engine": self.engine,
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
    verifier: str | verifiers.Verifier = "fast",
    vkey: dict[str, Any] | str | Path | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
    keys: pinning.KeyStore | None = None,
    expect: pinning.Expectations | None = None,
    domain: str | None = None,
    now: int | None = None,
    nonce: int | None = None,
    inspect_embedded_key: bool = False,
    settings: Settings | None = None,
) -> BundleVerification:
    """Check that a bundle proves a statement the verifier accepts.

    The key comes from the verifier, never from the bundle alone: `vkey` (a dict or a vkey.json
    path), `manifest` (a `zkmargin build --manifest` file pinning circuit and key hash), `keys`
    (a KeyStore such as `pinning.InstalledKeys()`, the keys this installation built), or an
    "evm" verifier naming a deployed contract (`verifiers.get("evm", chain=..., address=...)`).
    Without any of them InputError says how to pin. `inspect_embedded_key=True` checks the proof
    under the bundle's own key for inspection only: the result is then never valid.

    `verifier` is a name ("fast", "reference", "snarkjs", "evm") or a Verifier; an "evm" verifier
    without an address deploys one from the pinned key (default chain: in-process pyrevm).
    `expect` pins the statement's public parameters (market, prices, thresholds, ratio): a bundle
    proven at other values is invalid. An attestation is only valid for the verifier's own
    `domain` (required), before its expiry (checked against `now`, default the current time) and,
    when `nonce` is given, with that nonce."""
    settings = settings or Settings()
    v = verifiers.get(verifier, settings) if isinstance(verifier, str) else verifier
    expect = expect or pinning.Expectations()
    claim = decode_claim(bundle, expect.symbols)
    contract = getattr(v, "address", None) if v.name == "evm" else None
    with settings.active():
        trusted = pinning.resolve_key(
            bundle, vkey=vkey, manifest=manifest, keys=keys, verifier=contract, inspect_embedded=inspect_embedded_key
        )
    statement_problem = pinning.statement_problem(claim, expect)  # raises first for inapplicable options
    attestation_problem = _attestation_problem(claim, domain, now, nonce)

    def result(valid: bool, reason: str) -> BundleVerification:
        if valid and not trusted.pinned:
            valid, reason = (
                False,
                f"NOT VERIFIED (key not pinned; inspection only): under the bundle's own key, {reason}",
            )
        return BundleVerification(
            valid,
            reason,
            v.name,
            v.engine,
            claim,
            trusted,
            bool(bundle.setup.get("insecure_dev_ptau", False)),
            tuple(expect.pinned()),
            tuple(pinning.unpinned(claim, expect)),
            getattr(v, "address", None) if v.name == "evm" else None,
        )

    for problem in (trusted.mismatch(bundle), attestation_problem, statement_problem):
        if problem is not None:
            return result(False, problem)
    with settings.active():
        answer = v.verify(trusted.vkey, bundle.public_signals, bundle.proof)
    return result(answer.valid, answer.reason)


def _attestation_problem(claim: Claim, domain: str | None, now: int | None, nonce: int | None) -> str | None:
    """Why an attestation's context makes it invalid here (None when it does not).
    InputError when no domain is given for an attestation, or one is given for another statement."""
    if not claim.is_attestation:
        if domain is not None or nonce is not None:
            raise InputError(
                "--domain" if domain is not None else "--nonce",
                f"only applies to attestations, not to a {claim.statement} bundle",
            )
        return None
    if domain is None:
        raise InputError(
            "--domain", "a solvency attestation is bound to a verifier domain: pass the domain you verify for"
        )
    moment = int(time.time()) if now is None else now
    if domain_hash(domain) != claim.signals["domain"]:
        return f"attestation is for another domain than {domain!r}"
    if moment >= claim.signals["expiry"]:
        return f"attestation expired at {claim.signals['expiry']} (now {moment})"
    if nonce is not None and nonce != claim.signals["nonce"]:
        return f"attestation nonce {claim.signals['nonce']} is not {nonce}"
    return None


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
    return groth16_fast.verify_batch(
        verifiers.prepared_key(trusted.vkey), [(b.public_signals, b.proof) for b in bundles]
    )


def _batch_problems(
    bundles: list[Bundle],
    trusted: pinning.TrustedKey,
    expect: pinning.Expectations,
    domain: str | None,
    now: int | None,
) -> list[str | None]:
    """Per bundle, why it cannot pass in this batch before any pairing (None: nothing found)."""
    seen: dict[int, int] = {}
    out: list[str | None] = []
    for i, b in enumerate(bundles):
        claim = decode_claim(b, expect.symbols)
        # all three evaluated: an option that cannot apply raises even for a bundle of another key
        found = (
            trusted.mismatch(b),
            pinning.statement_problem(claim, expect),
            _attestation_problem(claim, domain, now, None),
        )
        problem = next((p for p in found if p is not None), None)
        if problem is None and claim.is_attestation:
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
    prepared = verifiers.prepared_key(trusted.vkey)
    for i, b in enumerate(bundles):
        if out[i] is None:
            v = groth16_fast.verify(prepared, b.public_signals, b.proof)
            out[i] = None if v.valid else v.reason
    return out


def deploy_verifier(chain: Chain, vkey: dict[str, Any], settings: Settings | None = None) -> str:
    """Deploy snarkjs's Solidity verifier for a verification key you trust; returns the address."""
    from . import onchain

    return onchain.deploy_verifier(chain, vkey, (settings or Settings()).tc())


def measure_gas(
    bundle: Bundle, *, chain: Chain | None = None, verifier: str | None = None, settings: Settings | None = None
) -> GasReport:
    """Gas of a successful verifyProof call (deploys a verifier when none is given)."""
    from . import onchain

    chain = chain or verifiers.evm_module().InProcessChain()
    if verifier is None:
        # gas only: the bundle's own key is fine here, nothing is being trusted
        verifier = deploy_verifier(chain, bundle.vkey, settings)
    return onchain.measure_gas(chain, verifier, bundle)


def bundle_calldata(bundle: Bundle) -> calldata.ProofCalldata:
    """verifyProof arguments for the bundle (EIP-197 ordering of B)."""
    return calldata.from_proof(bundle.proof, bundle.public_signals)
