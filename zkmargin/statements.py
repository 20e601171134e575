"""Circuit inputs for each statement, built from validated model objects.

A statement that is false for the given inputs raises StatementFalse before any
proving work, with the figure that decides it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import registry
from .commitment import commitment, slot_amounts
from .errors import InputError, StatementFalse
from .model import Health, Market, Position, PriceSnapshot, evaluate, format_wad
from .poseidon import poseidon
from .registry import CircuitSpec
from .witness import InputValue

# Padding slots: a price of 1 passes the in-circuit "price != 0" check, decimals 0
# and LT 0 make them contribute nothing; their amounts are 0 in the commitment.
PAD_PRICE, PAD_DECIMALS, PAD_LT = 1, 0, 0
PAD_BONUS, PAD_FEE = 0, 0  # the liquidation step's padding slots: never a collateral or debt asset
CONTEXT_MAX = 2**64 - 1


@dataclass(frozen=True)
class StatementInputs:
    spec: CircuitSpec
    inputs: dict[str, InputValue]
    commitment: int
    health: Health


@dataclass(frozen=True)
class AttestationContext:
    """Where and until when a solvency attestation may be accepted."""

    domain: str
    expiry: int
    nonce: int

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not 0 < len(self.domain) <= 256:
            raise InputError("--domain", "must be 1 to 256 characters (e.g. the verifying protocol's name)")
        for name, v in (("--expiry", self.expiry), ("--nonce", self.nonce)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= CONTEXT_MAX:
                raise InputError(name, f"must be an integer in [0, {CONTEXT_MAX}]")

    @property
    def domain_hash(self) -> int:
        return domain_hash(self.domain)


def domain_hash(domain: str) -> int:
    """sha256(domain) shifted right by 3 bits, so that it is < 2^253 < r."""
    return int.from_bytes(hashlib.sha256(domain.encode()).digest(), "big") >> 3


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
    return {"price": slot_prices(market, prices, n), "decimals": params["decimals"],
            "liqThreshold": params["liqThreshold"]}


def _lending_inputs(
    statement: str, position: Position, market: Market, prices: PriceSnapshot, threshold: int
) -> tuple[CircuitSpec, dict[str, InputValue], int, Health]:
    spec = registry.for_assets(statement, len(market.assets))
    health = evaluate(position, market, prices)
    n = spec.n_assets
    coll, debt = slot_amounts(position, market, n)
    com = commitment(position, market, n)
    inputs: dict[str, InputValue] = {
        "commitment": com,
        **slot_params(market, prices, n),
        "hfThreshold": threshold,
        "collateral": coll,
        "debt": debt,
        "salt": position.salt,
    }
    return spec, inputs, com, health


def liquidation_inputs(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int
) -> StatementInputs:
    """Inputs of the liquidation circuit; StatementFalse (with the HF) if HF >= threshold."""
    spec, inputs, com, health = _lending_inputs("liquidation", position, market, prices, threshold)
    if not health.is_below(threshold):
        raise StatementFalse(
            f"position is not liquidatable: health factor {format_wad(health.health_factor)} "
            f">= threshold {format_wad(threshold)} (Aave v3.5 rounding)"
        )
    return StatementInputs(spec, inputs, com, health)


def prices_hash(prices: list[int]) -> int:
    """The slot prices (padding included) hashed as LiquidationHashed binds them: Poseidon over
    chunks of 4, then over the chunk hashes (circomlibjs's EVM Poseidon takes at most 6 inputs)."""
    if len(prices) <= 4:
        return poseidon(prices)
    return poseidon([poseidon(prices[i : i + 4]) for i in range(0, len(prices), 4)])


def params_hash(decimals: list[int], liq_thresholds: list[int]) -> int:
    """Poseidon over the slot decimals then liquidation thresholds (padding included)."""
    return poseidon([*decimals, *liq_thresholds])


def liquidation_hashed_inputs(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int
) -> StatementInputs:
    """Inputs of LiquidationHashed: the same statement with prices and parameters hashed."""
    plain = liquidation_inputs(position, market, prices, threshold)
    spec = registry.for_assets("liquidation_hashed", len(market.assets))
    if spec.n_assets != plain.spec.n_assets:
        # the commitment is per slot count: both layouts must use the same size
        raise InputError("assets", f"no hashed circuit with {plain.spec.n_assets} slots")
    i = plain.inputs

    def ints(name: str) -> list[int]:
        v = i[name]
        assert not isinstance(v, int)
        return list(v)

    price, dec, lt = ints("price"), ints("decimals"), ints("liqThreshold")
    inputs: dict[str, InputValue] = {
        "commitment": plain.commitment,
        "pricesHash": prices_hash(price),
        "paramsHash": params_hash(dec, lt),
        "hfThreshold": threshold,
        "price": price,
        "decimals": dec,
        "liqThreshold": lt,
        "collateral": i["collateral"],
        "debt": i["debt"],
        "salt": i["salt"],
    }
    return StatementInputs(spec, inputs, plain.commitment, plain.health)


def attestation_inputs(
    position: Position, market: Market, prices: PriceSnapshot, min_hf: int, context: AttestationContext
) -> StatementInputs:
    """Inputs of the solvency attestation; StatementFalse (with the HF) if HF < min_hf."""
    spec, inputs, com, health = _lending_inputs("solvency", position, market, prices, min_hf)
    if health.is_below(min_hf):
        raise StatementFalse(
            f"position is below the attested minimum: health factor {format_wad(health.health_factor)} "
            f"< {format_wad(min_hf)} (Aave v3.5 rounding)"
        )
    inputs = {**inputs, "domain": context.domain_hash, "expiry": context.expiry, "nonce": context.nonce}
    # keep the circuit's declaration order (private inputs last) for readability of dumps
    order = ["commitment", "price", "decimals", "liqThreshold", "hfThreshold", "domain", "expiry", "nonce",
             "collateral", "debt", "salt"]
    return StatementInputs(spec, {k: inputs[k] for k in order}, com, health)
