"""Circuit = reference, through real Groth16 proofs: a handful of the references' own cases per
version of the Aave rules (and of dYdX subaccounts) are proven with zkmargin's circuits, verified
with a pinned key and the pinned market, and each proof's public outcome is compared with what the
reference computes (test_differential.py compares the model on thousands; this checks that the
circuits prove the same numbers end to end)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from zkmargin import api
from zkmargin.build import CircuitKeys
from zkmargin.errors import InputError, StatementFalse
from zkmargin.pinning import Expectations, InstalledKeys
from zkmargin.settings import Settings
from zkmargin.statements import lending, step
from zkmargin.statements import perp as perp_statements
from zkmargin.toolchain import Toolchain

from . import aave_ref as A
from . import bridge as B
from . import generators as G

pytestmark = pytest.mark.slow
PER_VERSION = 3


def _fits(case: G.AaveCase) -> bool:
    return len(case.market.reserves) <= 4 and len(case.market.emode_categories) <= 4


def _cases(version: A.Version) -> Iterator[G.AaveCase]:
    """Boundary cases first (HF just below 1, the close factor, dust, LT 0), then random ones, that
    execute under this version and fit the 4-slot step circuit."""
    for case in itertools.chain(G.aave_boundary_cases(), G.random_aave_cases(99, 3000)):
        if _fits(case) and case.expected[version].result is not None and case.expected[version].result.debt_repaid > 0:  # type: ignore[union-attr]
            yield case


@pytest.mark.parametrize("version", A.VERSIONS)
def test_step_proofs_equal_the_reference(version: A.Version, keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    keys("liquidation_step_4_" + version.replace("aave-v3.", "v3"))
    proven = 0
    for case in _cases(version):
        market, prices, pos = (
            B.market_of(version, case.market),
            B.prices_of(case.market),
            B.position_of(case.market, case.user),
        )
        call = case.call
        syms = market.symbols
        try:
            bundle, after = step.prove_liquidation_step(
                pos,
                market,
                prices,
                syms[call.collateral],
                syms[call.debt],
                min(call.debt_to_cover, B.MAX_COVER),
                receive_atoken=call.receive_atoken,
                settings=Settings(toolchain=tc),
            )
        except (InputError, StatementFalse):
            continue  # the isolation-mode market (the differential test counts these)
        result = api.verify_bundle(
            bundle,
            keys=InstalledKeys(),
            expect=Expectations(market=market, prices=prices),
            settings=Settings(toolchain=tc),
        )
        assert result.valid, (case.name, result)
        s, ref = result.claim.signals, case.expected[version].result
        assert ref is not None
        assert s["rulesVersion"] == market.rules_version
        assert (s["debtRepaid"], s["collateralToLiquidator"], s["protocolFeeAmount"]) == (
            ref.debt_repaid,
            ref.collateral_to_liquidator,
            ref.protocol_fee,
        ), case.name
        assert [s[f"deficit[{i}]"] for i in range(len(syms))] == list(ref.deficit), case.name
        assert tuple(after.collateral.get(x, 0) for x in syms) == ref.user_after.scaled_collateral
        assert tuple(after.debt.get(x, 0) for x in syms) == ref.user_after.scaled_debt
        assert tuple(after.collateral_enabled(x) for x in syms) == ref.user_after.collateral_enabled
        proven += 1
        if proven == PER_VERSION:
            break
    assert proven == PER_VERSION


def test_health_proofs_follow_the_reference(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    """HF < 1 proven exactly when the reference says the user is liquidatable, per version."""
    keys("liquidation_4")
    done = {v: [0, 0] for v in A.VERSIONS}  # proven, refused
    for case in G.aave_boundary_cases():
        if not _fits(case):
            continue
        for v in A.VERSIONS:
            if sum(done[v]) >= 4:
                continue
            market, prices, pos = (
                B.market_of(v, case.market),
                B.prices_of(case.market),
                B.position_of(case.market, case.user),
            )
            liquidatable = case.expected[v].liquidatable
            try:
                bundle = lending.prove_liquidation(pos, market, prices, settings=Settings(toolchain=tc))
            except StatementFalse:
                assert not liquidatable, case.name
                done[v][1] += 1
                continue
            assert liquidatable, case.name
            res = api.verify_bundle(
                bundle, keys=InstalledKeys(), expect=Expectations(market=market, prices=prices, threshold=10**18)
            )
            assert res.valid and res.claim.signals["rulesVersion"] == market.rules_version
            done[v][0] += 1
    assert all(p >= 1 and r >= 1 for p, r in done.values()), done


def test_perp_proofs_follow_the_reference(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    keys("perp_liquidation_4")
    proven = refused = 0
    for case in G.dydx_boundary_cases():
        if len(case.perps) > 4 or (proven >= 3 and refused >= 3):
            continue
        markets, quotes, account = B.perp_files_of(case.perps, case.subaccount)
        try:
            bundle = perp_statements.prove_perp_liquidation(account, markets, quotes, settings=Settings(toolchain=tc))
        except StatementFalse:
            assert not case.risk.is_liquidatable(), case.name
            refused += 1
            continue
        assert case.risk.is_liquidatable(), case.name
        res = api.verify_bundle(
            bundle,
            keys=InstalledKeys(),
            expect=Expectations(perp_markets=markets, perp_quotes=quotes, ratio_bps=10_000),
        )
        assert res.valid, case.name
        proven += 1
    assert proven >= 3 and refused >= 3
