"""Lending statements on an Aave v3 position, by the market's rules (aave-v3.5, v3.6, v3.7):
liquidation (HF < t), its hashed-parameter layout, and solvency attestations (HF >= t for a
verifier's domain, until an expiry).

Circuit inputs are built from validated model objects; a statement that is false for the given
inputs raises StatementFalse before any proving work, with the figure that decides it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import api, registry
from ..aave_math import RAY
from ..attestation import AttestationContext
from ..bundle import fixed_decimal
from ..commitment import commitment, slot_amounts
from ..errors import InputError, StatementFalse
from ..limits import PRICE_DECIMALS, WAD
from ..model import Health, Market, Position, PriceSnapshot, evaluate, format_wad, rules_label, rules_of_version
from ..poseidon import poseidon
from ..registry import CircuitSpec
from ..slots import emode_params, risk_params, slot_indexes, slot_params, slot_prices
from ..statement import Statement, StatementInputs, register
from ..witness import InputValue

if TYPE_CHECKING:
    from ..bundle import Bundle, Claim
    from ..pinning import Expectations
    from ..settings import Settings


@dataclass(frozen=True)
class LendingInputs:
    """A lending circuit's inputs, with the commitment and the model's health they came from."""

    spec: CircuitSpec
    inputs: dict[str, InputValue]
    commitment: int
    health: Health


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
        **health_emode(market, spec.n_emode),
        "hfThreshold": threshold,
        "collateral": coll,
        "debt": debt,
        "collateralFlags": position.flags(market),
        "eModeCategory": position.emode_category,
        "salt": position.salt,
    }
    return spec, inputs, com, health


def health_emode(market: Market, e: int) -> dict[str, list[int]]:
    """The eMode table the health circuits bind (ids, LTs, collateral bitmaps: no bonus)."""
    table = emode_params(market, e)
    return {k: table[k] for k in ("emodeId", "emodeLiqThreshold", "emodeCollateralBitmap")}


def liquidation_inputs(position: Position, market: Market, prices: PriceSnapshot, threshold: int) -> LendingInputs:
    """Inputs of the liquidation circuit; StatementFalse (with the HF) if HF >= threshold."""
    spec, inputs, com, health = _lending_inputs("liquidation", position, market, prices, threshold)
    if not health.is_below(threshold):
        raise StatementFalse(
            f"position is not liquidatable: health factor {format_wad(health.health_factor)} "
            f">= threshold {format_wad(threshold)} ({rules_label(market.rules)} rules)"
        )
    return LendingInputs(spec, inputs, com, health)


def chunked_hash(values: list[int]) -> int:
    """ChunkedHash in health.circom: Poseidon over chunks of 4, then over the chunk hashes
    (circomlibjs's EVM Poseidon takes at most 6 inputs)."""
    if len(values) <= 4:
        return poseidon(values)
    return poseidon([poseidon(values[i : i + 4]) for i in range(0, len(values), 4)])


def prices_hash(prices: list[int]) -> int:
    """The slot prices (padding included) hashed as LiquidationHashed binds them."""
    return chunked_hash(prices)


def indexes_hash(liquidity: list[int], borrow: list[int]) -> int:
    """The slot liquidity indexes then variable-borrow indexes (padding included), chunked like the prices."""
    return chunked_hash([*liquidity, *borrow])


def params_hash(
    rules_version: int,
    decimals: list[int],
    liq_thresholds: list[int],
    emode_ids: list[int],
    emode_lts: list[int],
    emode_bitmaps: list[int],
) -> int:
    """Poseidon_3(rulesVersion, Poseidon(decimals, liqThreshold), Poseidon(eMode ids, LTs, bitmaps))."""
    return poseidon(
        [rules_version, poseidon([*decimals, *liq_thresholds]), poseidon([*emode_ids, *emode_lts, *emode_bitmaps])]
    )


def liquidation_hashed_inputs(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int
) -> LendingInputs:
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
    li, bi = ints("liquidityIndex"), ints("borrowIndex")
    eid, elt, ebm = ints("emodeId"), ints("emodeLiqThreshold"), ints("emodeCollateralBitmap")
    inputs: dict[str, InputValue] = {
        "commitment": plain.commitment,
        "pricesHash": prices_hash(price),
        "indexesHash": indexes_hash(li, bi),
        "paramsHash": params_hash(market.rules_version, dec, lt, eid, elt, ebm),
        "hfThreshold": threshold,
        "rulesVersion": market.rules_version,
        "price": price,
        "liquidityIndex": li,
        "borrowIndex": bi,
        "decimals": dec,
        "liqThreshold": lt,
        "emodeId": eid,
        "emodeLiqThreshold": elt,
        "emodeCollateralBitmap": ebm,
        **{k: i[k] for k in ("collateral", "debt", "collateralFlags", "eModeCategory", "salt")},
    }
    return LendingInputs(spec, inputs, plain.commitment, plain.health)


def attestation_inputs(
    position: Position, market: Market, prices: PriceSnapshot, min_hf: int, context: AttestationContext
) -> LendingInputs:
    """Inputs of the solvency attestation; StatementFalse (with the HF) if HF < min_hf."""
    spec, inputs, com, health = _lending_inputs("solvency", position, market, prices, min_hf)
    if health.is_below(min_hf):
        raise StatementFalse(
            f"position is below the attested minimum: health factor {format_wad(health.health_factor)} "
            f"< {format_wad(min_hf)} ({rules_label(market.rules)} rules)"
        )
    inputs = {**inputs, "domain": context.domain_hash, "expiry": context.expiry, "nonce": context.nonce}
    # keep the circuit's declaration order (private inputs last) for readability of dumps
    order = [
        "commitment",
        "rulesVersion",
        "price",
        "liquidityIndex",
        "borrowIndex",
        "decimals",
        "liqThreshold",
        "emodeId",
        "emodeLiqThreshold",
        "emodeCollateralBitmap",
        "hfThreshold",
        "domain",
        "expiry",
        "nonce",
        "collateral",
        "debt",
        "collateralFlags",
        "eModeCategory",
        "salt",
    ]
    return LendingInputs(spec, {k: inputs[k] for k in order}, com, health)


def lending_context(market: Market, prices: PriceSnapshot, **extra: Any) -> dict[str, Any]:
    """The informational part of a lending bundle: names and oracle rounds, not proven."""
    return {
        "note": "informational, not bound by the proof",
        "market": market.name,
        "rules": market.rules,
        "assets": list(market.symbols),
        "oracle": {s: {"roundId": str(p.round_id), "updatedAt": p.updated_at} for s, p in prices.prices.items()},
        "created_at": int(time.time()),
        **extra,
    }


def lending_expected(n_slots: int, n_emode: int, exp: Expectations) -> dict[str, tuple[int, str]]:
    """What a pinned market and prices require of a lending circuit's public signals (each circuit
    binds the names it has: per-slot arrays, or their Poseidon hashes in the hashed layout)."""
    out: dict[str, tuple[int, str]] = {}

    def put(name: str, values: list[int], origin: str, labels: tuple[str, ...]) -> None:
        for i, v in enumerate(values):
            out[f"{name}[{i}]"] = (v, f"{labels[i] if i < len(labels) else 'padding'} from {origin}")

    if exp.market is not None:
        m, origin = exp.market, exp.name_of("market")
        out["rulesVersion"] = (m.rules_version, f"{origin} ({m.rules})")
        params = risk_params(m, n_slots)
        for name, values in params.items():
            put(name, values, origin, m.symbols)
        if n_emode:
            table = emode_params(m, n_emode)
            cats = tuple(f"eMode category {c.id}" for c in m.emode_categories)
            for name, values in table.items():
                put(name, values, origin, cats)
            out["paramsHash"] = (
                params_hash(
                    m.rules_version,
                    params["decimals"],
                    params["liqThreshold"],
                    table["emodeId"],
                    table["emodeLiqThreshold"],
                    table["emodeCollateralBitmap"],
                ),
                origin,
            )
        if exp.prices is not None:
            price = slot_prices(m, exp.prices, n_slots)
            put("price", price, exp.name_of("prices"), m.symbols)
            out["pricesHash"] = (prices_hash(price), exp.name_of("prices"))
            idx = slot_indexes(m, exp.prices, n_slots)
            for name, values in idx.items():
                put(name, values, exp.name_of("prices"), m.symbols)
            out["indexesHash"] = (indexes_hash(idx["liquidityIndex"], idx["borrowIndex"]), exp.name_of("prices"))
    return out


def rules_text(claim: Claim) -> str:
    """The proven rules version in words ("Aave v3.6 rules"), from the public signal."""
    v = claim.signals.get("rulesVersion")
    if v is None:  # the hashed layout: the version is inside paramsHash
        return "Aave rules bound by paramsHash"
    rules = rules_of_version(v)
    return f"{rules_label(rules)} rules" if rules else f"unknown rules version {v}"


def rules_json(claim: Claim) -> dict[str, Any]:
    v = claim.signals["rulesVersion"]
    return {"rulesVersion": v, "rules": rules_of_version(v)}


def emode_json(claim: Claim) -> list[dict[str, Any]]:
    """The proven eMode table (entries with id 0 are padding)."""
    s = claim.signals
    out: list[dict[str, Any]] = []
    e = 0
    while f"emodeId[{e}]" in s:
        if s[f"emodeId[{e}]"] != 0:
            entry: dict[str, Any] = {
                "id": s[f"emodeId[{e}]"],
                "liquidationThreshold": s[f"emodeLiqThreshold[{e}]"],
                "collateralBitmap": s[f"emodeCollateralBitmap[{e}]"],
            }
            if f"emodeLiqBonus[{e}]" in s:
                entry["liquidationBonus"] = s[f"emodeLiqBonus[{e}]"]
            out.append(entry)
        e += 1
    return out


def ray_text(v: int) -> str:
    """An index in ray as an exact decimal: 1050000000000000000000000000 -> '1.05'."""
    return fixed_decimal(v, 27).rstrip("0").rstrip(".")


def prices_text(claim: Claim) -> str:
    """Each slot's price, and its indexes where they are not 1 ray."""
    parts = []
    for s in claim.slots:
        text = f"{claim.slot_name(s.index)}={fixed_decimal(s.price, PRICE_DECIMALS)}"
        if (s.liquidity_index, s.borrow_index) not in ((RAY, RAY), (None, None)):
            text += (
                f" (liquidity index {ray_text(s.liquidity_index or 0)}, borrow index {ray_text(s.borrow_index or 0)})"
            )
        parts.append(text)
    return ", ".join(parts)


# --- the statements ---


@dataclass(frozen=True)
class LendingRequest:
    """A committed position, its market and prices, and the HF threshold (WAD) of the statement."""

    position: Position
    market: Market
    prices: PriceSnapshot
    threshold: int = WAD


@dataclass(frozen=True)
class SolvencyRequest(LendingRequest):
    context: AttestationContext | None = None


class _Lending(Statement[LendingRequest]):
    def expected(self, n_slots: int, exp: Expectations) -> dict[str, tuple[int, str]]:
        out = lending_expected(n_slots, registry.emode_entries(self.name), exp)
        for option in ("threshold", "min_hf"):
            value = getattr(exp, option)
            if value is not None and option in self.pins:
                out["hfThreshold"] = (value, exp.name_of(option))
        return out

    def _threshold_json(self, claim: Claim) -> dict[str, Any]:
        return {"hfThreshold": str(claim.threshold), "hfThreshold_decimal": format_wad(claim.threshold)}


class Liquidation(_Lending):
    name = "liquidation"
    summary = "the committed position has HF < t (default 1.0: liquidatable)"
    pins = ("market", "prices", "threshold")

    def inputs(self, request: LendingRequest) -> StatementInputs:
        li = liquidation_inputs(request.position, request.market, request.prices, request.threshold)
        return StatementInputs(li.spec, li.inputs, lending_context(request.market, request.prices))

    def describe(self, claim: Claim) -> str:
        # "liquidatable" only for the protocol's own threshold (HF < 1); any other is just the inequality
        verdict = ": liquidatable" if claim.threshold == WAD else ""
        return (
            f"position {claim.commitment_hex} has health factor < {format_wad(claim.threshold)} "
            f"({rules_text(claim)}){verdict} at prices {prices_text(claim)}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        return {
            **self._threshold_json(claim),
            **rules_json(claim),
            "assets": [s.to_json() for s in claim.slots],
            "eModeCategories": emode_json(claim),
        }


class LiquidationHashed(_Lending):
    name = "liquidation_hashed"
    summary = "HF < t, with prices and risk parameters bound as two Poseidon hashes"
    pins = ("market", "prices", "threshold")

    def inputs(self, request: LendingRequest) -> StatementInputs:
        li = liquidation_hashed_inputs(request.position, request.market, request.prices, request.threshold)
        return StatementInputs(li.spec, li.inputs, lending_context(request.market, request.prices))

    def describe(self, claim: Claim) -> str:
        verdict = ": liquidatable" if claim.threshold == WAD else ""
        s = claim.signals
        return (
            f"position {claim.commitment_hex} has health factor < {format_wad(claim.threshold)} (the Aave "
            f"rules and risk parameters hashing to 0x{s['paramsHash']:064x}){verdict} at the prices hashing to "
            f"0x{s['pricesHash']:064x} and the indexes hashing to 0x{s['indexesHash']:064x} (Poseidon)"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        return {
            **self._threshold_json(claim),
            "pricesHash": f"0x{claim.signals['pricesHash']:064x}",
            "indexesHash": f"0x{claim.signals['indexesHash']:064x}",
            "paramsHash": f"0x{claim.signals['paramsHash']:064x}",
        }


class Solvency(_Lending):
    name = "solvency"
    summary = "HF >= t, for a verifier's domain, until an expiry, with a nonce"
    attestation = True
    pins = ("market", "prices", "min_hf")

    def inputs(self, request: LendingRequest) -> StatementInputs:
        if not isinstance(request, SolvencyRequest) or request.context is None:
            raise InputError("context", "a solvency attestation needs its domain, expiry and nonce")
        li = attestation_inputs(request.position, request.market, request.prices, request.threshold, request.context)
        ctx = lending_context(request.market, request.prices, domain=request.context.domain)
        return StatementInputs(li.spec, li.inputs, ctx)

    def describe(self, claim: Claim) -> str:
        return (
            f"position {claim.commitment_hex} has health factor >= {format_wad(claim.threshold)} "
            f"({rules_text(claim)}) at prices {prices_text(claim)}{claim.attestation_text()}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        return {
            **self._threshold_json(claim),
            **rules_json(claim),
            "assets": [s.to_json() for s in claim.slots],
            "eModeCategories": emode_json(claim),
        }


LIQUIDATION, LIQUIDATION_HASHED, SOLVENCY = Liquidation(), LiquidationHashed(), Solvency()
for _s in (LIQUIDATION, LIQUIDATION_HASHED, SOLVENCY):
    register(_s)


def prove_liquidation(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int = WAD, settings: Settings | None = None
) -> Bundle:
    """Prove that the committed position has HF < threshold (WAD) at these prices.

    Raises StatementFalse (with the health factor) before any proving when the position is not
    liquidatable, InputError for values the circuit cannot hold."""
    return api.prove(LIQUIDATION, LendingRequest(position, market, prices, threshold), settings)


def prove_liquidation_hashed(
    position: Position, market: Market, prices: PriceSnapshot, threshold: int = WAD, settings: Settings | None = None
) -> Bundle:
    """prove_liquidation with prices and risk parameters as two Poseidon hashes (4 public inputs)."""
    return api.prove(LIQUIDATION_HASHED, LendingRequest(position, market, prices, threshold), settings)


def attest_solvency(
    position: Position,
    market: Market,
    prices: PriceSnapshot,
    min_hf: int,
    context: AttestationContext,
    settings: Settings | None = None,
) -> Bundle:
    """Prove HF >= min_hf (WAD) for one verifier domain, until context.expiry, with context.nonce.

    Raises StatementFalse (with the health factor) when the position is below min_hf."""
    return api.prove(SOLVENCY, SolvencyRequest(position, market, prices, min_hf, context), settings)
