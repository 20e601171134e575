"""Perp statements on a committed dYdX v4 cross-margin subaccount (model: zkmargin/perp.py): net
collateral below a multiple of a non-zero maintenance margin (1x: liquidatable, dYdX's
IsLiquidatable), and margin attestations (net collateral at or above it, for a verifier's domain,
until an expiry)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import api, perp
from ..attestation import AttestationContext
from ..errors import InputError
from ..limits import BPS
from ..statement import Statement, StatementInputs, register

if TYPE_CHECKING:
    from ..bundle import Bundle, Claim
    from ..pinning import Expectations
    from ..settings import Settings


@dataclass(frozen=True)
class PerpRequest:
    account: perp.PerpAccount
    markets: perp.PerpMarkets
    quotes: dict[str, perp.PerpQuote]
    ratio_bps: int = BPS
    context: AttestationContext | None = None


def perp_context(markets: perp.PerpMarkets, **extra: Any) -> dict[str, Any]:
    return {
        "note": "informational, not bound by the proof",
        "market": markets.name,
        "assets": list(markets.symbols),
        "created_at": int(time.time()),
        **extra,
    }


def usd_price(price: int, exponent: int) -> str:
    """MarketPrice (price, exponent) as an exact decimal of USDC: (6000000000, -5) -> '60000'."""
    if exponent >= 0:
        return str(price * 10**exponent)
    whole, frac = divmod(price, 10**-exponent)
    text = f"{whole}.{frac:0{-exponent}d}".rstrip("0")
    return text.rstrip(".")


def markets_json(claim: Claim) -> list[dict[str, Any]]:
    out = []
    for i in range(claim.n_slots):
        price, exponent = claim.signals[f"price[{i}]"], claim.signed(f"priceExponent[{i}]")
        out.append(
            {
                "slot": i,
                "symbol": claim.symbol_of(i),
                "price": str(price),
                "priceExponent": exponent,
                "price_usd": usd_price(price, exponent),
                "fundingIndex": str(claim.signed(f"fundingIndex[{i}]")),
                "atomicResolution": claim.signed(f"atomicResolution[{i}]"),
                "initialMarginPpm": claim.signals[f"initialMarginPpm[{i}]"],
                "maintenanceFractionPpm": claim.signals[f"maintenanceFractionPpm[{i}]"],
            }
        )
    return out


class _Perp(Statement[PerpRequest]):
    pins = ("perp_markets", "perp_quotes", "ratio_bps")

    def inputs(self, request: PerpRequest) -> StatementInputs:
        if self.attestation and request.context is None:
            raise InputError("context", "a margin attestation needs its domain, expiry and nonce")
        spec, inputs, _ = perp.perp_inputs(
            self.name, request.account, request.markets, request.quotes, request.ratio_bps, request.context
        )
        extra = {"domain": request.context.domain} if self.attestation and request.context else {}
        return StatementInputs(spec, inputs, perp_context(request.markets, **extra))

    def expected(self, n_slots: int, exp: Expectations) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        groups: list[tuple[dict[str, list[int]], str]] = []
        if exp.perp_markets is not None:
            groups.append((perp.risk_params(exp.perp_markets, n_slots), exp.name_of("perp_markets")))
            if exp.perp_quotes is not None:
                groups.append(
                    (perp.slot_quotes(exp.perp_markets, exp.perp_quotes, n_slots), exp.name_of("perp_quotes"))
                )
            for values, origin in groups:
                for name, vs in values.items():
                    for i, v in enumerate(vs):
                        sym = exp.perp_markets.symbols[i] if i < len(exp.perp_markets.symbols) else "padding"
                        out[f"{name}[{i}]"] = (v, f"{sym} from {origin}")
        if exp.ratio_bps is not None:
            out["marginRatio"] = (exp.ratio_bps, exp.name_of("ratio_bps"))
        return out

    def _quotes(self, claim: Claim) -> str:
        return ", ".join(
            f"{claim.slot_name(m['slot'])}={m['price_usd']} (funding index {m['fundingIndex']})"
            for m in markets_json(claim)
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        return {"marginRatio_bps": claim.signals["marginRatio"], "markets": markets_json(claim)}


class PerpLiquidation(_Perp):
    name = "perp_liquidation"
    summary = (
        "a dYdX v4 subaccount has maintenance margin > 0 and net collateral < ratio x maintenance margin "
        "(1x: liquidatable)"
    )

    def describe(self, claim: Claim) -> str:
        ratio_bps = claim.signals["marginRatio"]
        # "liquidatable" only for the protocol's own condition (TNC < 1x MMR, MMR > 0)
        relation = (
            "< maintenance margin: liquidatable (dYdX v4 rules)"
            if ratio_bps == BPS
            else f"< {ratio_bps / BPS:g}x maintenance margin (dYdX v4 rules)"
        )
        return (
            f"perp subaccount {claim.commitment_hex} has a non-zero maintenance margin and net collateral "
            f"{relation} at {self._quotes(claim)}"
        )


class PerpAttestation(_Perp):
    name = "perp_attestation"
    summary = "net collateral >= ratio x maintenance margin (dYdX v4), for a verifier's domain, until an expiry"
    attestation = True

    def describe(self, claim: Claim) -> str:
        ratio = f"{claim.signals['marginRatio'] / BPS:g}x"
        return (
            f"perp subaccount {claim.commitment_hex} has net collateral >= {ratio} maintenance margin "
            f"(dYdX v4 rules) at {self._quotes(claim)}{claim.attestation_text()}"
        )


PERP_LIQUIDATION, PERP_ATTESTATION = PerpLiquidation(), PerpAttestation()
for _s in (PERP_LIQUIDATION, PERP_ATTESTATION):
    register(_s)


def prove_perp_liquidation(
    account: perp.PerpAccount,
    markets: perp.PerpMarkets,
    quotes: dict[str, perp.PerpQuote],
    ratio_bps: int = BPS,
    settings: Settings | None = None,
) -> Bundle:
    """Prove MMR > 0 and net collateral < ratio x MMR (10000 bps: liquidatable) for a committed dYdX subaccount."""
    return api.prove(PERP_LIQUIDATION, PerpRequest(account, markets, quotes, ratio_bps), settings)


def attest_perp_margin(
    account: perp.PerpAccount,
    markets: perp.PerpMarkets,
    quotes: dict[str, perp.PerpQuote],
    ratio_bps: int,
    context: AttestationContext,
    settings: Settings | None = None,
) -> Bundle:
    """Prove net collateral >= ratio x maintenance margin for one verifier domain, until an expiry."""
    return api.prove(PERP_ATTESTATION, PerpRequest(account, markets, quotes, ratio_bps, context), settings)
