"""Per-slot public parameters of the lending circuits: the market's assets in slot order, padded
to the circuit's size. The prover fills them in and a verifier pinning a market recomputes them,
so both use these functions."""

from __future__ import annotations

from .model import Market, PriceSnapshot

# Padding slots: a price of 1 passes the in-circuit "price != 0" check, decimals 0
# and LT 0 make them contribute nothing; their amounts are 0 in the commitment.
PAD_PRICE, PAD_DECIMALS, PAD_LT = 1, 0, 0
PAD_BONUS, PAD_FEE = 0, 0  # the liquidation step's padding slots: never a collateral or debt asset


def risk_params(market: Market, n: int) -> dict[str, list[int]]:
    """Per-slot risk parameters, padded to the circuit's n slots (a circuit binds the ones it has:
    every lending circuit decimals and liquidation thresholds, the liquidation step also bonus and fee)."""
    pad = n - len(market.assets)
    return {
        "decimals": [a.decimals for a in market.assets] + [PAD_DECIMALS] * pad,
        "liqThreshold": [a.liquidation_threshold for a in market.assets] + [PAD_LT] * pad,
        "liqBonus": [a.liquidation_bonus for a in market.assets] + [PAD_BONUS] * pad,
        "protocolFee": [a.protocol_fee for a in market.assets] + [PAD_FEE] * pad,
    }


def slot_prices(market: Market, prices: PriceSnapshot, n: int) -> list[int]:
    """Per-slot oracle prices in market order, padded to n slots."""
    return [prices.prices[a.symbol].price for a in market.assets] + [PAD_PRICE] * (n - len(market.assets))


def slot_params(market: Market, prices: PriceSnapshot, n: int) -> dict[str, list[int]]:
    """Per-slot prices, decimals and liquidation thresholds, padded to the circuit's n slots."""
    params = risk_params(market, n)
    return {
        "price": slot_prices(market, prices, n),
        "decimals": params["decimals"],
        "liqThreshold": params["liqThreshold"],
    }
