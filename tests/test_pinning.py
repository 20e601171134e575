"""A verifier that cannot be fooled by default: the key and the statement come from the verifier.

The attacks as an attacker wrote them: a bundle carrying a forged key that accepts a forged proof
for any public signals; an attestation proven at prices the prover chose; one attestation passed
twice in a batch; a perp "liquidation" at a ratio of 8.7; context symbols relabelling proven prices.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.optimized_bn128.optimized_curve import add, multiply, neg, normalize

from zkmargin import api, perp, verifiers
from zkmargin.attestation import AttestationContext
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle, decode_claim, vkey_hash
from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.evm import InProcessChain
from zkmargin.limits import WAD
from zkmargin.loaders import market_from_json, prices_from_json
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.pinning import Expectations, InstalledKeys
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.statements import perp as perp_statements
from zkmargin.toolchain import Toolchain

from .conftest import FIX

MARKET, PRICES = str(FIX / "market.json"), str(FIX / "prices.json")
CTX = AttestationContext("lending-desk.example", 2_000_000_000, 4242)
NOW = 1_900_000_000
FAKE_COMMITMENT = 12345  # a position that exists nowhere


def _g1(p: list[str]) -> tuple[FQ, FQ, FQ]:
    return (FQ(int(p[0])), FQ(int(p[1])), FQ(int(p[2])))


def forge(bundle: Bundle, signals: list[int]) -> Bundle:
    """The attack of issue 10: the real key with delta replaced by gamma, and the proof
    (A, B, C) = (alpha, beta, -vk_x), which satisfies the pairing equation for any signals:
    e(-alpha, beta) e(alpha, beta) e(vk_x, gamma) e(-vk_x, gamma) = 1."""
    vk = copy.deepcopy(bundle.vkey)
    vk["vk_delta_2"] = vk["vk_gamma_2"]
    ic = [_g1(p) for p in vk["IC"]]
    acc = ic[0]
    for s, point in zip(signals, ic[1:], strict=True):
        acc = add(acc, multiply(point, s))
    cx, cy = normalize(neg(acc))
    proof = {
        "pi_a": vk["vk_alpha_1"],
        "pi_b": vk["vk_beta_2"],
        "pi_c": [str(cx.n), str(cy.n), "1"],
        "protocol": "groth16",
        "curve": "bn128",
    }
    return replace(bundle, public_signals=[str(s) for s in signals], proof=proof, vkey=vk, vkey_sha256=vkey_hash(vk))


@pytest.fixture(scope="module")
def forged(bundle: Bundle) -> Bundle:
    signals = [int(s) for s in bundle.public_signals]
    signals[0] = FAKE_COMMITMENT
    return forge(bundle, signals)


@pytest.fixture(scope="module")
def forged_file(forged: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forged") / "forged.json"
    forged.save(path)
    return path


def test_the_forgery_is_real(forged: Bundle) -> None:
    """Under its own key the forged proof passes every engine: only pinning stops it."""
    for backend in ("fast", "reference"):
        res = api.verify_bundle(forged, verifier=backend, inspect_embedded_key=True)  # type: ignore[arg-type]
        assert not res.valid and "under the bundle's own key, pairing check passed" in res.reason
        assert not res.key.pinned and decode_claim(forged).commitment == FAKE_COMMITMENT


def test_api_requires_a_pinned_key(forged: Bundle, bundle: Bundle, keys: Callable[[str], CircuitKeys]) -> None:
    with pytest.raises(InputError, match="no trusted verification key") as e:
        api.verify_bundle(forged)
    assert e.value.field == "--vkey"
    with pytest.raises(InputError, match="no trusted verification key"):
        api.verify_bundles([forged])
    real = keys("liquidation_4").vkey()
    for kw in ({"vkey": real}, {"keys": InstalledKeys()}):
        res = api.verify_bundle(forged, **kw)  # type: ignore[arg-type]
        assert not res.valid and "different verification key" in res.reason
        assert api.verify_bundle(bundle, **kw).valid  # type: ignore[arg-type]
    assert not api.verify_bundles([bundle, forged], vkey=real).valid


def test_cli_default_verify_refuses_the_forgery(
    runner: CliRunner, forged_file: Path, tmp_path: Path, keys: Callable[[str], CircuitKeys]
) -> None:
    keys("liquidation_4")
    real = str(keys("liquidation_4").vkey_path)
    # this installation has the real key: the forged one is another key
    for extra in ([], ["--onchain"], ["--vkey", real], ["--onchain", "--vkey", real], ["--backend", "snarkjs"]):
        res = runner.invoke(cli, ["verify", str(forged_file), *extra])
        assert res.exit_code == 1, (extra, res.output)
        assert "different verification key" in res.output
    res = runner.invoke(cli, ["verify-batch", str(forged_file)])
    assert res.exit_code == 1 and "different verification key" in res.output
    # an installation without keys for the circuit: nothing to pin against, exit 2 saying how to pin
    empty = {"ZKMARGIN_CACHE_DIR": str(tmp_path / "empty-cache")}
    for cmd in (
        ["verify", str(forged_file)],
        ["verify", str(forged_file), "--onchain"],
        ["verify-batch", str(forged_file)],
    ):
        res = runner.invoke(cli, cmd, env=empty)
        assert res.exit_code == 2, (cmd, res.output)
        assert "--vkey" in res.output and "--manifest" in res.output
    # the escape hatch inspects, and never says valid
    res = runner.invoke(cli, ["verify", str(forged_file), "--insecure-embedded-key", "--json"], env=empty)
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and not data["valid"] and data["key"]["source"] == "embedded"
    assert "pairing check passed" in data["reason"]


def test_onchain_deploys_the_pinned_key_not_the_bundles(
    forged: Bundle, bundle: Bundle, tc: Toolchain, keys: Callable[[str], CircuitKeys]
) -> None:
    chain = InProcessChain()
    real = keys("liquidation_4").vkey()
    forged_verifier = api.deploy_verifier(chain, forged.vkey, Settings(toolchain=tc))
    # the forged key's contract does accept the forged proof: that is why the key must be pinned
    assert api.verify_bundle(forged, verifier=verifiers.get("evm", chain=chain, address=forged_verifier)).valid
    res = api.verify_bundle(
        forged, verifier=verifiers.get("evm", chain=chain), vkey=real, settings=Settings(toolchain=tc)
    )
    assert not res.valid
    res = api.verify_bundle(
        bundle, verifier=verifiers.get("evm", chain=chain), keys=InstalledKeys(), settings=Settings(toolchain=tc)
    )
    assert res.valid and res.key.source == "installation"


def test_vkey_that_is_not_a_key_is_exit_2(runner: CliRunner, bundle: Bundle, tmp_path: Path) -> None:
    bundle_file = tmp_path / "liq.json"
    bundle.save(bundle_file)
    for name, text in (("list.json", "[]"), ("object.json", "{}"), ("bundle.json", bundle_file.read_text())):
        (tmp_path / name).write_text(text)
        res = runner.invoke(cli, ["verify", str(bundle_file), "--vkey", str(tmp_path / name)])
        assert res.exit_code == 2 and "--vkey" in res.output and "verification key" in res.output, res.output


# --- statements pinned by the verifier ---


@pytest.fixture(scope="module")
def chosen_price_attestation(healthy: Position, market: Market, tc: Toolchain) -> Bundle:
    """An owner attests at prices of their choosing: WETH at 10x."""
    raw = json.loads(Path(PRICES).read_text())
    raw["prices"]["WETH"]["price"] = str(int(raw["prices"]["WETH"]["price"]) * 10)
    inflated = prices_from_json(raw, market)
    return lending.attest_solvency(healthy, market, inflated, 3 * WAD, CTX, settings=Settings(toolchain=tc))


@pytest.mark.slow  # proves (chosen_price_attestation)
def test_chosen_prices_refused_when_prices_are_pinned(
    chosen_price_attestation: Bundle, market: Market, prices: PriceSnapshot, runner: CliRunner, tmp_path: Path
) -> None:
    b = chosen_price_attestation
    common = {"keys": InstalledKeys(), "domain": CTX.domain, "now": NOW}
    unpinned = api.verify_bundle(b, **common)  # type: ignore[arg-type]
    assert unpinned.valid and "prices" in unpinned.unpinned  # the proof is sound: it proves HF >= 3 at 10x
    res = api.verify_bundle(b, expect=Expectations(market=market, prices=prices), **common)  # type: ignore[arg-type]
    assert not res.valid and res.reason.startswith("proven price[0] = 2500000000000,")
    assert "WETH from prices" in res.reason
    res = api.verify_bundle(b, expect=Expectations(market=market, min_hf=4 * WAD), **common)  # type: ignore[arg-type]
    assert not res.valid and "hfThreshold" in res.reason
    path = tmp_path / "att.json"
    b.save(path)
    base = ["verify", str(path), "--domain", CTX.domain, "--at", str(NOW)]
    res = runner.invoke(cli, [*base, "--market", MARKET, "--prices", PRICES])
    assert res.exit_code == 1 and "--prices requires 250000000000" in res.output, res.output
    assert runner.invoke(cli, [*base, "--market", MARKET, "--min-hf", "3"]).exit_code == 0
    assert runner.invoke(cli, [*base, "--market", MARKET, "--min-hf", "2.9"]).exit_code == 1
    # options that cannot apply are refused, not ignored
    for bad, field in (
        (["--threshold", "1"], "--threshold"),
        (["--ratio", "1"], "--ratio"),
        (["--prices", PRICES], "--prices"),
    ):
        res = runner.invoke(cli, [*base, *bad])
        assert res.exit_code == 2 and field in res.output, (bad, res.output)


@pytest.mark.slow  # proves (chosen_price_attestation)
def test_batch_refuses_a_reused_nonce(chosen_price_attestation: Bundle, runner: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    chosen_price_attestation.save(a)
    chosen_price_attestation.save(b)
    res = runner.invoke(cli, ["verify-batch", str(a), str(b), "--domain", CTX.domain, "--at", str(NOW), "--json"])
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and [i["bundle"] for i in data["invalid"]] == [str(b)]
    assert "nonce 4242 already used" in data["invalid"][0]["reason"]
    assert runner.invoke(cli, ["verify-batch", str(a), "--domain", CTX.domain, "--at", str(NOW)]).exit_code == 0
    res = runner.invoke(cli, ["verify-batch", str(a), "--at", str(NOW)])
    assert res.exit_code == 2 and "--domain" in res.output


def test_pinned_market_and_threshold(bundle: Bundle, market: Market, prices: PriceSnapshot) -> None:
    ok = api.verify_bundle(bundle, keys=InstalledKeys(), expect=Expectations(market, prices, threshold=WAD))
    assert ok.valid and ok.unpinned == () and ok.claim.slots[0].symbol == "WETH"
    raw = json.loads(Path(MARKET).read_text())
    raw["assets"][0]["liquidationThreshold"] = 8100  # same slots, another LT for WETH (its LTV is 8050)
    res = api.verify_bundle(bundle, keys=InstalledKeys(), expect=Expectations(market=market_from_json(raw)))
    assert not res.valid and res.reason == "proven liqThreshold[0] = 8250, but WETH from market requires 8100"
    res = api.verify_bundle(bundle, keys=InstalledKeys(), expect=Expectations(threshold=WAD + 1))
    assert not res.valid and "hfThreshold" in res.reason
    with pytest.raises(InputError, match="does not apply"):
        api.verify_bundle(bundle, keys=InstalledKeys(), expect=Expectations(min_hf=WAD))
    with pytest.raises(InputError, match="only applies to attestations"):
        api.verify_bundle(bundle, keys=InstalledKeys(), domain="somewhere")


def test_context_never_names_proven_values(bundle: Bundle, market: Market) -> None:
    """The bundle's context is not proven: it must not relabel the proven prices."""
    lying = replace(bundle, context={**bundle.context, "assets": ["USDC", "WETH", "DAI", "WBTC"]})
    text = api.verify_bundle(lying, keys=InstalledKeys()).claim.describe()
    assert "USDC=2500" not in text and "WETH" not in text and "slot0=2500.00000000" in text
    text = api.verify_bundle(lying, keys=InstalledKeys(), expect=Expectations(market=market)).claim.describe()
    assert "WETH=2500.00000000" in text


def test_liquidatable_only_for_the_protocol_threshold(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    b = lending.prove_liquidation(liquidatable, market, prices, WAD * 12 // 10, settings=Settings(toolchain=tc))
    text = decode_claim(b).describe()
    assert "health factor < 1.2 " in text and "liquidatable" not in text


def test_perp_ratio_is_not_called_liquidatable(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, runner: CliRunner, tmp_path: Path
) -> None:
    markets = perp.load_markets(FIX / "perp-markets.json")
    quotes = perp.load_quotes(FIX / "perp-prices.json", markets)
    account = perp.load_account(FIX / "perp-account-liquidatable.json", markets)
    b = perp_statements.prove_perp_liquidation(account, markets, quotes, 87_000, settings=Settings(toolchain=tc))
    text = decode_claim(b).describe()
    assert "< 8.7x maintenance margin" in text and "liquidatable" not in text
    assert (
        "maintenance margin: liquidatable"
        in decode_claim(
            perp_statements.prove_perp_liquidation(account, markets, quotes, settings=Settings(toolchain=tc))
        ).describe()
    )
    path = tmp_path / "perp.json"
    b.save(path)
    pins = ["--markets", str(FIX / "perp-markets.json"), "--prices", str(FIX / "perp-prices.json")]
    assert runner.invoke(cli, ["verify", str(path), *pins]).exit_code == 0
    res = runner.invoke(cli, ["verify", str(path), *pins, "--ratio", "1.0"])
    assert res.exit_code == 1 and "marginRatio" in res.output
    res = runner.invoke(cli, ["verify", str(path), "--market", MARKET])
    assert res.exit_code == 2 and "--market" in res.output
