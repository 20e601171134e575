"""The liquidation step: one Aave v3 liquidation call, by the market's rules, moved a committed
position from its old commitment to a new one (the model is zkmargin/liquidation_step.py; one
circuit per version of the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import api, liquidation_step, registry
from ..commitment import new_salt as new_random_salt
from ..model import Market, Position, PriceSnapshot
from ..statement import Statement, StatementInputs, register
from ..strictjson import bounded_int
from .lending import emode_json, lending_context, lending_expected, prices_text, rules_json, rules_text

if TYPE_CHECKING:
    from ..bundle import Bundle, Claim
    from ..pinning import Expectations
    from ..settings import Settings

MAX_DEBT_TO_COVER = 2**128 - 1  # "max": Aave's type(uint256).max, capped at the circuit's width


@dataclass(frozen=True)
class StepRequest:
    position: Position
    market: Market
    prices: PriceSnapshot
    collateral_asset: str
    debt_asset: str
    debt_to_cover: int
    new_salt: int
    receive_atoken: bool = False


class LiquidationStep(Statement[StepRequest]):
    name = "liquidation_step"
    summary = (
        "one Aave v3 liquidation call (by the market's rules) moved the position from the old commitment to the new one"
    )
    pins = ("market", "prices")

    def inputs(self, request: StepRequest) -> StatementInputs:
        return self.plan(request)[0]

    def plan(self, request: StepRequest) -> tuple[StatementInputs, liquidation_step.LiquidationOutcome]:
        """The circuit inputs and the model's outcome of the call (the position after it)."""
        spec, inputs, outcome = liquidation_step.step_inputs(
            request.position,
            request.market,
            request.prices,
            request.collateral_asset,
            request.debt_asset,
            request.debt_to_cover,
            request.new_salt,
            request.receive_atoken,
        )
        return StatementInputs(spec, inputs, lending_context(request.market, request.prices)), outcome

    def expected(self, n_slots: int, exp: Expectations) -> dict[str, tuple[int, str]]:
        return lending_expected(n_slots, registry.emode_entries(self.name), exp)

    @staticmethod
    def _deficits(claim: Claim) -> list[tuple[int, int]]:
        return [(i, claim.signals[f"deficit[{i}]"]) for i in range(claim.n_slots) if claim.signals[f"deficit[{i}]"]]

    def describe(self, claim: Claim) -> str:
        s = claim.signals
        deficits = ", ".join(f"{v} of {claim.slot_name(i)}" for i, v in self._deficits(claim))
        return (
            f"liquidation of position {claim.commitment_hex} (HF < 1, {rules_text(claim)}) -> new position "
            f"0x{s['newCommitment']:064x}: repaid {s['debtRepaid']} of {claim.slot_name(s['debtAsset'])} "
            f"(asked {s['debtToCover']}), {s['collateralToLiquidator']} of "
            f"{claim.slot_name(s['collateralAsset'])} to the liquidator"
            f"{' (as aTokens)' if s['receiveAToken'] else ''} + {s['protocolFeeAmount']} protocol fee"
            f"{f', no collateral left: deficit {deficits}, all debt burned' if deficits else ''}, "
            f"at prices {prices_text(claim)}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        s = claim.signals
        out: dict[str, Any] = {
            "newCommitment": f"0x{s['newCommitment']:064x}",
            **rules_json(claim),
            "assets": [
                {
                    **a.to_json(),
                    "liquidationBonus": s[f"liqBonus[{a.index}]"],
                    "liquidationProtocolFee": s[f"protocolFee[{a.index}]"],
                }
                for a in claim.slots
            ],
            "eModeCategories": emode_json(claim),
            "collateralAsset": {"slot": s["collateralAsset"], "symbol": claim.symbol_of(s["collateralAsset"])},
            "debtAsset": {"slot": s["debtAsset"], "symbol": claim.symbol_of(s["debtAsset"])},
            "receiveAToken": bool(s["receiveAToken"]),
        }
        for k in ("debtToCover", "debtRepaid", "collateralToLiquidator", "protocolFeeAmount"):
            out[k] = str(s[k])
        out["deficit"] = {str(claim.symbol_of(i) or f"slot{i}"): str(v) for i, v in self._deficits(claim)}
        return out


LIQUIDATION_STEP = LiquidationStep()
register(LIQUIDATION_STEP)


def parse_debt_to_cover(text: str) -> int:
    """A debt amount in base units, or "max" (all the close factor allows, as Aave's uint256.max)."""
    return MAX_DEBT_TO_COVER if text == "max" else bounded_int(text, "--debt-to-cover", 1, MAX_DEBT_TO_COVER)


def prove_liquidation_step(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    collateral_asset: str,
    debt_asset: str,
    debt_to_cover: int,
    *,
    new_salt: int | None = None,
    receive_atoken: bool = False,
    settings: Settings | None = None,
) -> tuple[Bundle, Position]:
    """Prove one Aave v3 liquidation call (by the market's rules) on a committed position.

    Returns the bundle and the position after the call (its opening, with a fresh salt from the OS
    CSPRNG unless given): whoever holds the position next needs it."""
    salt = new_salt if new_salt is not None else new_random_salt()
    request = StepRequest(position, market, prices, collateral_asset, debt_asset, debt_to_cover, salt, receive_atoken)
    inputs, outcome = LIQUIDATION_STEP.plan(request)
    return api.prove_inputs(inputs, settings), outcome.new_position
