"""Per-slot public parameters of the lending circuits: the market's assets in slot order, padded
to the circuit's size, its rules version and its eMode categories padded to the circuit's table.
The prover fills them in and a verifier pinning a market recomputes them, so both use these
functions."""

from __future__ import annotations

from .aave_math import RAY
from .errors import InputError
from .model import Market, PriceSnapshot

# Padding slots: a price of 1 passes the in-circuit "price != 0" check, decimals 0 and LT 0 make
# them contribute nothing, indexes of 1 ray are the smallest legal ones; their amounts are 0 in
# the commitment and their collateral flag is off.
PAD_PRICE, PAD_DECIMALS, PAD_LT, PAD_INDEX = 1, 0, 0, RAY
PAD_BONUS, PAD_FEE = 0, 0  # the liquidation step's padding slots: never a collateral or debt asset
# Padding eMode entries: id 0 is "no category", which the circuit never selects from the table.
PAD_EMODE = 0


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


def emode_params(market: Market, e: int) -> dict[str, list[int]]:
    """The market's eMode categories as the circuits' table of e entries (padding: id 0)."""
    cats = market.emode_categories
    if len(cats) > e:
        raise InputError(
            "eModeCategories", f"market {market.name} has {len(cats)} eMode categories; the circuits hold at most {e}"
        )
    pad = [PAD_EMODE] * (e - len(cats))
    return {
        "emodeId": [c.id for c in cats] + pad,
        "emodeLiqThreshold": [c.liquidation_threshold for c in cats] + pad,
        "emodeLiqBonus": [c.liquidation_bonus for c in cats] + pad,
        "emodeCollateralBitmap": [c.collateral_bitmap for c in cats] + pad,
    }


def slot_prices(market: Market, prices: PriceSnapshot, n: int) -> list[int]:
    """Per-slot oracle prices in market order, padded to n slots."""
    return [prices.prices[a.symbol].price for a in market.assets] + [PAD_PRICE] * (n - len(market.assets))


def slot_indexes(market: Market, prices: PriceSnapshot, n: int) -> dict[str, list[int]]:
    """Per-slot liquidity and variable-borrow indexes (ray), padded to n slots."""
    pad = [PAD_INDEX] * (n - len(market.assets))
    return {
        "liquidityIndex": [prices.prices[a.symbol].liquidity_index for a in market.assets] + pad,
        "borrowIndex": [prices.prices[a.symbol].variable_borrow_index for a in market.assets] + pad,
    }


def slot_params(market: Market, prices: PriceSnapshot, n: int) -> dict[str, int | list[int]]:
    """What every lending circuit binds per slot: the rules version, prices, indexes, decimals and
    liquidation thresholds, padded to the circuit's n slots."""
    params = risk_params(market, n)
    return {
        "rulesVersion": market.rules_version,
        "price": slot_prices(market, prices, n),
        **slot_indexes(market, prices, n),
        "decimals": params["decimals"],
        "liqThreshold": params["liqThreshold"],
    }
