"""Circuit inputs for each statement, built from validated model objects."""

from __future__ import annotations

from dataclasses import dataclass

from . import registry
from .commitment import commitment, slot_amounts
from .errors import StatementFalse
from .model import Health, Market, Position, PriceSnapshot, evaluate, format_wad
from .registry import CircuitSpec
from .witness import InputValue

# Padding slots: a price of 1 passes the in-circuit "price != 0" check, decimals 0
# and LT 0 make them contribute nothing; their amounts are 0 in the commitment.
PAD_PRICE, PAD_DECIMALS, PAD_LT = 1, 0, 0


@dataclass(frozen=True)
class StatementInputs:
    spec: CircuitSpec
    inputs: dict[str, InputValue]
    commitment: int
    health: Health


def liquidation_inputs(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int
) -> StatementInputs:
    """Inputs of the liquidation circuit; StatementFalse (with the HF) if HF >= threshold."""
    spec = registry.for_assets("liquidation", len(market.assets))
    health = evaluate(position, market, prices)
    if not health.is_below(threshold):
        raise StatementFalse(
            f"position is not liquidatable: health factor {format_wad(health.health_factor)} "
            f">= threshold {format_wad(threshold)} (Aave v3.5 rounding)"
        )
    n = spec.n_assets
    pad = n - len(market.assets)
    coll, debt = slot_amounts(position, market, n)
    com = commitment(position, market, n)
    inputs: dict[str, InputValue] = {
        "commitment": com,
        "price": [prices.prices[a.symbol].price for a in market.assets] + [PAD_PRICE] * pad,
        "decimals": [a.decimals for a in market.assets] + [PAD_DECIMALS] * pad,
        "liqThreshold": [a.liquidation_threshold for a in market.assets] + [PAD_LT] * pad,
        "hfThreshold": threshold,
        "collateral": coll,
        "debt": debt,
        "salt": position.salt,
    }
    return StatementInputs(spec, inputs, com, health)
