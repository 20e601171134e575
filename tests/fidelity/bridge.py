"""From the references' cases to zkmargin's model, and the comparison of their answers.

The references (aave_ref.py, dydx_ref.py) import nothing from zkmargin; this module is the only
place where the two meet: it converts a reference market / user / call into zkmargin's Market,
PriceSnapshot, Position and call arguments, runs zkmargin's model, and says how the answers
compare. A mismatch is a string describing it; every other outcome is one of the named kinds
counted by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkmargin import perp as P
from zkmargin.errors import InputError, StatementFalse
from zkmargin.limits import AMOUNT_BITS
from zkmargin.liquidation_step import AaveRevert, LiquidationOutcome, liquidate
from zkmargin.model import Asset, EModeCategory, Health, Market, Position, PricePoint, PriceSnapshot, evaluate

from . import aave_ref as A
from . import dydx_ref as D
from . import generators as G

SALT = 7
NEW_SALT = 11
MAX_COVER = 2**AMOUNT_BITS - 1  # zkmargin's "max": Aave's uint256.max, capped at the circuit's width


def market_of(version: A.Version, m: A.Market) -> Market:
    assets = tuple(
        Asset(
            r.symbol,
            r.decimals,
            r.liquidation_threshold,
            r.liquidation_bonus,
            r.liquidation_protocol_fee,
            r.ltv,
            0 if version == "aave-v3.7" else r.debt_ceiling,
        )
        for r in m.reserves
    )
    cats = tuple(
        EModeCategory(
            cid, c.liquidation_threshold, c.liquidation_bonus, c.collateral_bitmap, c.ltv, c.borrowable_bitmap
        )
        for cid, c in sorted(m.emode_categories.items())
    )
    return Market("ref", assets, version, cats)


def prices_of(m: A.Market) -> PriceSnapshot:
    return PriceSnapshot(
        {r.symbol: PricePoint(r.price, 0, 0, r.liquidity_index, r.variable_borrow_index) for r in m.reserves}
    )


def position_of(m: A.Market, u: A.User) -> Position:
    syms = [r.symbol for r in m.reserves]
    return Position(
        {s: v for s, v in zip(syms, u.scaled_collateral, strict=True) if v},
        {s: v for s, v in zip(syms, u.scaled_debt, strict=True) if v},
        SALT,
        frozenset(s for s, f in zip(syms, u.collateral_enabled, strict=True) if f),
        u.emode_category,
        scaled=True,
    )


def compare_account(version: A.Version, m: A.Market, u: A.User) -> tuple[Health, list[str]]:
    ref = A.calculate_user_account_data(version, m, u)
    ours = evaluate(position_of(m, u), market_of(version, m), prices_of(m))
    bad = []
    for name, a, b in (
        ("health factor", ours.health_factor, ref.health_factor),
        ("total collateral", ours.total_collateral, ref.total_collateral_base),
        ("total debt", ours.total_debt, ref.total_debt_base),
    ):
        if a != b:
            bad.append(f"{name}: zkmargin {a}, reference {b}")
    if ours.is_below(10**18) != (ref.health_factor < 10**18):
        bad.append("liquidatable verdict differs")
    return ours, bad


@dataclass(frozen=True)
class StepResult:
    kind: str  # "same", "same-revert", "zkmargin-rule", "isolation-refused", "mismatch"
    detail: str = ""


def compare_call(
    version: A.Version, m: A.Market, u: A.User, call: G.AaveCall, ref: G.AaveOutcome | None = None
) -> StepResult:
    """zkmargin's liquidate() against the reference's liquidationCall for one version."""
    if ref is None:
        ref = G.run_aave(version, m, u, call)
    market, prices, pos = market_of(version, m), prices_of(m), position_of(m, u)
    syms = market.symbols
    cover = min(call.debt_to_cover, MAX_COVER)
    try:
        out = liquidate(
            pos, market, prices, syms[call.collateral], syms[call.debt], cover, NEW_SALT, call.receive_atoken
        )
    except AaveRevert as e:
        if ref.revert == e.name:
            return StepResult("same-revert", e.name)
        return StepResult("mismatch", f"zkmargin reverts {e.name}, reference {ref.revert or 'succeeds'}")
    except (StatementFalse, InputError) as e:
        field = getattr(e, "field", "")
        if field.endswith(".debtCeiling"):
            return StepResult("isolation-refused", str(e))
        if (field == "--debt-to-cover" and cover == 0) or "repay no" in str(e):
            # zkmargin's own rule: nothing repaid. Aave reverts, or executes a call repaying nothing
            if ref.revert is not None or (ref.result is not None and ref.result.debt_repaid == 0):
                return StepResult("zkmargin-rule", ref.revert or "executes, repaying 0")
            return StepResult(
                "mismatch", f"zkmargin refuses a call repaying {ref.result.debt_repaid if ref.result else '?'}"
            )
        return StepResult(
            "mismatch", f"zkmargin refuses ({type(e).__name__}: {e}), reference {ref.revert or 'succeeds'}"
        )
    if ref.result is None:
        return StepResult("mismatch", f"zkmargin executes, reference reverts {ref.revert}")
    bad = outcome_differences(out, ref.result, syms, m.reserves[call.collateral])
    return StepResult("mismatch", "; ".join(bad)) if bad else StepResult("same")


def outcome_differences(
    out: LiquidationOutcome, r: A.LiquidationResult, syms: tuple[str, ...], collateral: A.Reserve
) -> list[str]:
    after = r.user_after
    new = out.new_position
    pairs = [
        ("debt repaid", out.debt_repaid, r.debt_repaid),
        ("collateral to liquidator", out.collateral_to_liquidator, r.collateral_to_liquidator),
        ("protocol fee", out.protocol_fee, r.protocol_fee),
        ("deficit", out.deficit, r.deficit),
        ("close factor", out.close_factor_applied, r.close_factor_applied),
        ("bonus", out.bonus, r.liquidation_bonus),
        ("scaled to liquidator", out.scaled_to_liquidator, r.scaled_to_liquidator),
        ("scaled to treasury", out.scaled_to_treasury, r.scaled_to_treasury),
        ("scaled collateral after", tuple(new.collateral.get(s, 0) for s in syms), after.scaled_collateral),
        ("scaled debt after", tuple(new.debt.get(s, 0) for s in syms), after.scaled_debt),
        ("collateral flags after", tuple(new.collateral_enabled(s) for s in syms), after.collateral_enabled),
        ("eMode after", new.emode_category, after.emode_category),
    ]
    bad = [f"{name}: zkmargin {a}, reference {b}" for name, a, b in pairs if a != b]
    # the isolation-mode counter is pool state: zkmargin reports the decrease, the reference the result
    if (r.isolation_mode_total_debt is None) != (out.isolated_debt_repaid is None):
        bad.append(f"isolation: zkmargin {out.isolated_debt_repaid}, reference {r.isolation_mode_total_debt}")
    elif out.isolated_debt_repaid is not None:
        cur = collateral.isolation_mode_total_debt
        want = cur - out.isolated_debt_repaid if cur > out.isolated_debt_repaid else 0
        if want != r.isolation_mode_total_debt:
            bad.append(f"isolation counter: zkmargin {want}, reference {r.isolation_mode_total_debt}")
    return bad


# --- dYdX ---


def perp_files_of(
    perps: dict[int, D.Perpetual], sub: D.Subaccount
) -> tuple[P.PerpMarkets, dict[str, P.PerpQuote], P.PerpAccount]:
    """A dYdX subaccount and its perpetuals in zkmargin's perp format (quote quantums)."""
    ids = sorted(perps)
    markets = P.PerpMarkets(
        "ref",
        tuple(
            P.PerpMarket(
                f"P{pid}",
                perps[pid].atomic_resolution,
                perps[pid].price_exponent,
                perps[pid].tier.initial_margin_ppm,
                perps[pid].tier.maintenance_fraction_ppm,
            )
            for pid in ids
        ),
    )
    quotes = {f"P{pid}": P.PerpQuote(perps[pid].price, perps[pid].funding_index) for pid in ids}
    positions = {
        f"P{p.perpetual_id}": P.PerpPosition(p.quantums, p.funding_index, p.quote_balance) for p in sub.positions
    }
    return markets, quotes, P.PerpAccount(sub.usdc_quantums, positions, SALT)


def compare_perp(perps: dict[int, D.Perpetual], sub: D.Subaccount, risk: D.Risk) -> list[str]:
    markets, quotes, account = perp_files_of(perps, sub)
    m = P.evaluate(account, markets, quotes)
    bad = [
        f"{name}: zkmargin {a}, reference {b}"
        for name, a, b in (
            ("net collateral", m.net_collateral, risk.nc),
            ("maintenance margin", m.maintenance, risk.mmr),
            ("liquidatable", m.liquidatable, risk.is_liquidatable()),
        )
        if a != b
    ]
    return bad
