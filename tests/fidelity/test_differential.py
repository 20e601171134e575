"""zkmargin's model against the independent references, case by case: 0 mismatches.

Aave: every random case of `generators.random_aave_cases` and every boundary case, under each
of the three versions: the account data (HF, TC, TD, the liquidatable verdict) and the
liquidation call (amounts, fee after its cap, per-reserve deficit, scaled balances, collateral
flags after, or the revert by name). dYdX: net collateral, maintenance margin and the verdict of
every random and boundary subaccount.

Outcomes that are not "the same" are counted by kind and must be the documented ones:
`zkmargin-rule` (zkmargin refuses a call that repays nothing, which Aave reverts or executes
repaying 0) and `isolation-refused` (a market whose isolated asset meets a debt asset with fewer
than 2 decimals, where v3.5/v3.6 Panic; zkmargin refuses the market for the step).
The sample runs in `make test`; `ZKMARGIN_FIDELITY=full` (`make fidelity`) runs the full set.
"""

from __future__ import annotations

from collections import Counter

import pytest

from . import aave_ref as A
from . import bridge as B
from . import generators as G

AAVE_RANDOM = G.case_count(400, 20000)
DYDX_RANDOM = G.case_count(1000, 20000)


def _run_aave(cases: list[G.AaveCase]) -> tuple[Counter[str], list[str]]:
    kinds: Counter[str] = Counter()
    mismatches: list[str] = []
    for case in cases:
        for v in A.VERSIONS:
            _, bad = B.compare_account(v, case.market, case.user)
            if bad:
                mismatches.append(f"{case.name} {v} account: {'; '.join(bad)}")
            res = B.compare_call(v, case.market, case.user, case.call, case.expected[v])
            kinds[res.kind] += 1
            if res.kind == "mismatch":
                mismatches.append(f"{case.name} {v} call {case.call}: {res.detail}")
    return kinds, mismatches


def test_aave_random_cases_match_the_reference() -> None:
    cases = list(G.random_aave_cases(13, AAVE_RANDOM))
    kinds, mismatches = _run_aave(cases)
    assert mismatches == [], f"{len(mismatches)} mismatches, first: {mismatches[:5]}"
    assert kinds["same"] > AAVE_RANDOM // 4  # many calls execute (the rest revert alike, mostly HF >= 1)
    assert set(kinds) <= {"same", "same-revert", "zkmargin-rule", "isolation-refused"}
    print(f"\nAave random: {len(cases)} cases x 3 versions: {dict(kinds)}")


def test_aave_boundary_cases_match_the_reference() -> None:
    cases = G.aave_boundary_cases()
    kinds, mismatches = _run_aave(cases)
    assert mismatches == [], mismatches[:5]
    assert set(kinds) <= {"same", "same-revert", "zkmargin-rule"}
    print(f"\nAave boundary: {len(cases)} cases x 3 versions: {dict(kinds)}")


@pytest.mark.parametrize("case", G.aave_boundary_cases(), ids=lambda c: c.name)
def test_aave_boundary_verdicts_hold_for_zkmargin(case: G.AaveCase) -> None:
    """Each boundary case's verdict (revert by name, HF, close factor, deficit) holds for
    zkmargin's model, not only for the reference."""
    for v, verdict in case.expect.items():
        res = B.compare_call(v, case.market, case.user, case.call, case.expected[v])
        assert res.kind in ("same", "same-revert"), (v, res)
        assert verdict.check(case.expected[v]) == []
        if verdict.health_factor is not None:
            health, _ = B.compare_account(v, case.market, case.user)
            assert health.health_factor == verdict.health_factor


def test_dydx_random_subaccounts_match_the_reference() -> None:
    mismatches: list[str] = []
    liquidatable = 0
    for case in G.random_dydx_cases(17, DYDX_RANDOM):
        bad = B.compare_perp(case.perps, case.subaccount, case.risk)
        if bad:
            mismatches.append(f"{case.name}: {'; '.join(bad)}")
        liquidatable += case.liquidatable
    assert mismatches == [], f"{len(mismatches)} mismatches, first: {mismatches[:5]}"
    assert 0 < liquidatable < DYDX_RANDOM  # both verdicts occur
    print(f"\ndYdX random: {DYDX_RANDOM} subaccounts, {liquidatable} liquidatable, 0 mismatches")


@pytest.mark.parametrize("case", G.dydx_boundary_cases(), ids=lambda c: c.name)
def test_dydx_boundary_cases_match_the_reference(case: G.DydxCase) -> None:
    """MMR = 0 with negative net collateral (no positions, dust positions, IMF 0) is never
    liquidatable; TNC = MMR - 1 is, TNC = MMR and MMR + 1 are not."""
    assert B.compare_perp(case.perps, case.subaccount, case.risk) == []
    assert case.expect_liquidatable is None or case.liquidatable == case.expect_liquidatable
