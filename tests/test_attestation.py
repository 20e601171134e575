"""Solvency attestations: HF >= t, bound to a domain, an expiry and a nonce."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from zkmargin import api, registry
from zkmargin.attestation import AttestationContext, domain_hash
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.errors import InputError, StatementFalse, WitnessError
from zkmargin.groth16 import verify as native_verify
from zkmargin.model import Market, Position, PriceSnapshot, evaluate
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import lending
from zkmargin.statements.lending import attestation_inputs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator

CTX = AttestationContext("lending-desk.example", 2_000_000_000, 77)
NOW = 1_900_000_000


@pytest.fixture(scope="module")
def attestation(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, healthy: Position, market: Market, prices: PriceSnapshot
) -> Bundle:
    keys("attestation_4")
    return lending.attest_solvency(healthy, market, prices, 15 * 10**17, CTX, settings=Settings(toolchain=tc))


def test_context_signals(keys: Callable[[str], CircuitKeys]) -> None:
    k = keys("attestation_4")  # its constraint count is pinned in tests/test_conformance.py
    assert k.compiled.public_signals[-3:] == ["domain", "expiry", "nonce"]
    assert registry.for_assets("solvency", 6).id == "attestation_8"


def test_valid_attestation(attestation: Bundle, tc: Toolchain) -> None:
    for backend in ("fast", "snarkjs", "evm"):
        res = api.verify_bundle(
            attestation,
            keys=InstalledKeys(),
            verifier=backend,
            domain=CTX.domain,
            now=NOW,
            nonce=77,  # type: ignore[arg-type]
            settings=Settings(toolchain=tc),
        )
        assert res.valid, (backend, res.reason)
    claim = api.decode_claim(attestation)
    assert claim.signals["domain"] == domain_hash(CTX.domain)
    assert "health factor >= 1.5" in claim.describe() and "2033-05-18T03:33:20Z" in claim.describe()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"domain": "other.example", "now": NOW}, "another domain"),
        ({"domain": CTX.domain, "now": CTX.expiry}, "expired"),
        ({"domain": CTX.domain, "now": NOW, "nonce": 78}, "nonce"),
    ],
)
def test_context_is_checked(attestation: Bundle, kwargs: dict[str, object], reason: str) -> None:
    res = api.verify_bundle(attestation, keys=InstalledKeys(), **kwargs)  # type: ignore[arg-type]
    assert not res.valid and reason in res.reason


def test_domain_is_required(attestation: Bundle) -> None:
    with pytest.raises(InputError, match="--domain"):
        api.verify_bundle(attestation, keys=InstalledKeys())
    with pytest.raises(InputError, match="--domain"):  # a batch holds attestations to the same rules
        api.verify_bundles([attestation], vkey=attestation.vkey)


def test_batch_checks_the_context(attestation: Bundle) -> None:
    assert api.verify_bundles([attestation], vkey=attestation.vkey, domain=CTX.domain, now=NOW).valid
    # one nonce admits one attestation: the same attestation twice in a batch does not pass twice
    res = api.verify_bundles([attestation] * 2, vkey=attestation.vkey, domain=CTX.domain, now=NOW)
    assert (
        not res.valid
        and res.reason == f"bundle 1: attestation nonce {CTX.nonce} already used by bundle 0 of this batch"
    )
    assert api.batch_blame([attestation] * 2, vkey=attestation.vkey, domain=CTX.domain, now=NOW)[0] is None
    res = api.verify_bundles([attestation] * 2, vkey=attestation.vkey, domain="other.example", now=NOW)
    assert not res.valid and res.reason.startswith("bundle 0: attestation is for another domain")
    res = api.verify_bundles([attestation], vkey=attestation.vkey, domain=CTX.domain, now=CTX.expiry)
    assert not res.valid and "expired" in res.reason


def test_context_signals_are_bound(attestation: Bundle, tc: Toolchain) -> None:
    """Editing domain, expiry or nonce (what an attacker replaying elsewhere would do) breaks the proof."""
    n = len(attestation.public_signals)
    for idx in (n - 3, n - 2, n - 1):
        pub = list(attestation.public_signals)
        pub[idx] = str(int(pub[idx]) + 1)
        assert not native_verify(attestation.vkey, pub, attestation.proof).valid
        assert not snarkjs_verify(attestation.vkey, pub, attestation.proof, tc).valid
    proof = copy.deepcopy(attestation.proof)
    proof["pi_c"] = proof["pi_a"]
    assert not native_verify(attestation.vkey, attestation.public_signals, proof).valid


def test_boundary_both_sides(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, healthy: Position, market: Market, prices: PriceSnapshot
) -> None:
    hf = evaluate(healthy, market, prices).health_factor
    b = lending.attest_solvency(
        healthy, market, prices, hf, CTX, settings=Settings(toolchain=tc)
    )  # HF exactly at t: HF >= t holds
    assert api.verify_bundle(b, keys=InstalledKeys(), domain=CTX.domain, now=NOW).valid
    with pytest.raises(StatementFalse, match="health factor 1.635"):
        lending.attest_solvency(healthy, market, prices, hf + 1, CTX, settings=Settings(toolchain=tc))
    # the circuit refuses HF + 1 by itself (model bypassed)
    inputs = attestation_inputs(healthy, market, prices, hf, CTX).inputs
    wc = WitnessCalculator(keys("attestation_4").compiled.wasm)
    wc.calculate(inputs)
    with pytest.raises(WitnessError):
        wc.calculate({**inputs, "hfThreshold": hf + 1})


def test_liquidatable_position_cannot_attest(
    tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    with pytest.raises(StatementFalse, match="0.981"):
        lending.attest_solvency(liquidatable, market, prices, 10**18, CTX, settings=Settings(toolchain=tc))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("--domain", {"domain": ""}),
        ("--expiry", {"expiry": -1}),
        ("--nonce", {"nonce": 2**64}),
    ],
)
def test_bad_context(field: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError, match=field):
        AttestationContext(**{"domain": "d", "expiry": 1, "nonce": 1, **kwargs})  # type: ignore[arg-type]


def test_cli_attest_and_verify(keys: Callable[[str], CircuitKeys], tmp_path: object) -> None:
    import json
    from pathlib import Path

    from click.testing import CliRunner

    from zkmargin.cli.main import cli

    from .conftest import FIX

    keys("attestation_4")
    out = Path(str(tmp_path)) / "att.json"
    r = CliRunner()
    base = [
        str(FIX / "position-healthy.json"),
        "--market",
        str(FIX / "market.json"),
        "--prices",
        str(FIX / "prices.json"),
        "--domain",
        "desk",
        "-o",
        str(out),
    ]
    res = r.invoke(cli, ["attest", *base, "--min-hf", "1.7"])
    assert res.exit_code == 1 and "1.635" in res.output and not out.exists()
    res = r.invoke(cli, ["attest", *base, "--min-hf", "1.6", "--ttl", "600", "--nonce", "5", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["claim"]["context"]["nonce"] == "5"
    assert r.invoke(cli, ["verify", str(out)]).exit_code == 2
    assert r.invoke(cli, ["verify", str(out), "--domain", "desk", "--nonce", "5"]).exit_code == 0
    assert r.invoke(cli, ["verify", str(out), "--domain", "desk", "--at", "4000000000"]).exit_code == 1
