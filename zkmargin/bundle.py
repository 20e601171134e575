"""Proof bundles: one JSON file a third party can check on its own.

The claim is always decoded from the public signals (never read from the
bundle's prose), and everything under "context" is informational: it is not
bound by the proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import paths, registry
from .errors import BundleError, InputError
from .field import R
from .fsutil import write_json_atomic
from .groth16_format import parse_public_signals
from .limits import PRICE_DECIMALS
from .loaders import read_json
from .model import format_wad

FORMAT = "zkmargin.bundle/1"


@dataclass(frozen=True)
class SlotClaim:
    index: int
    symbol: str | None  # from the bundle's context, not proven
    price: int
    decimals: int
    liquidation_threshold: int

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.index,
            "symbol": self.symbol,
            "price": str(self.price),
            "price_decimal": _fixed(self.price, PRICE_DECIMALS),
            "decimals": self.decimals,
            "liquidationThreshold": self.liquidation_threshold,
        }


@dataclass(frozen=True)
class Claim:
    """What a valid proof establishes: its named public signals, decoded."""

    statement: str
    circuit: str
    signals: dict[str, int]
    symbols: tuple[str | None, ...]  # from the bundle's context, not proven

    @property
    def commitment(self) -> int:
        return self.signals["commitment"] if "commitment" in self.signals else self.signals["oldCommitment"]

    @property
    def commitment_hex(self) -> str:
        return f"0x{self.commitment:064x}"

    @property
    def threshold(self) -> int:
        return self.signals["hfThreshold"]

    @property
    def slots(self) -> tuple[SlotClaim, ...]:
        return tuple(
            SlotClaim(i, self.symbols[i] if i < len(self.symbols) else None, self.signals[f"price[{i}]"],
                      self.signals[f"decimals[{i}]"], self.signals[f"liqThreshold[{i}]"])
            for i in range(sum(1 for k in self.signals if k.startswith("price[")))
        )

    def _prices(self) -> str:
        return ", ".join(f"{s.symbol}={_fixed(s.price, PRICE_DECIMALS)}" for s in self.slots if s.symbol)

    @property
    def is_attestation(self) -> bool:
        return "domain" in self.signals

    @property
    def is_perp(self) -> bool:
        return self.statement.startswith("perp_")

    def perp_markets(self) -> list[dict[str, Any]]:
        out = []
        for i in range(sum(1 for k in self.signals if k.startswith("price["))):
            funding = _signed(self.signals[f"fundingIndex[{i}]"])
            out.append({
                "slot": i,
                "symbol": self.symbols[i] if i < len(self.symbols) else None,
                "price": str(self.signals[f"price[{i}]"]),
                "price_decimal": _fixed(self.signals[f"price[{i}]"], PRICE_DECIMALS),
                "fundingIndex": str(funding),
                "sizeDecimals": self.signals[f"sizeDecimals[{i}]"],
                "maintenanceMarginPpm": self.signals[f"mmr[{i}]"],
            })
        return out

    def _context_text(self) -> str:
        if not self.is_attestation:
            return ""
        expiry = datetime.fromtimestamp(self.signals["expiry"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"; for domain 0x{self.signals['domain']:064x}, until {expiry}, nonce {self.signals['nonce']}"

    def _symbol(self, index: int) -> str:
        s = self.symbols[index] if index < len(self.symbols) else None
        return s or f"slot{index}"

    def describe(self) -> str:
        if self.statement == "liquidation_step":
            s = self.signals
            return (f"liquidation of position {self.commitment_hex} (HF < 1, Aave v3.5 rules) -> new position "
                    f"0x{s['newCommitment']:064x}: repaid {s['debtRepaid']} of {self._symbol(s['debtAsset'])} "
                    f"(asked {s['debtToCover']}), {s['collateralToLiquidator']} of "
                    f"{self._symbol(s['collateralAsset'])} to the liquidator + {s['protocolFeeAmount']} protocol fee"
                    f"{', deficit: all remaining debt burned' if s['deficit'] else ''}, at prices {self._prices()}")
        if self.is_perp:
            ratio = f"{self.signals['marginRatio'] / 10_000:g}x"
            quotes = ", ".join(f"{m['symbol']}={m['price_decimal']} (funding index {m['fundingIndex']})"
                               for m in self.perp_markets() if m["symbol"])
            relation = "< " + ratio + " maintenance margin: liquidatable" if self.statement == "perp_liquidation" \
                else ">= " + ratio + " maintenance margin"
            return f"perp account {self.commitment_hex} has equity {relation} at {quotes}{self._context_text()}"
        t = format_wad(self.threshold)
        if self.statement == "liquidation_hashed":
            return (f"position {self.commitment_hex} has health factor < {t} (Aave v3.5 rounding): liquidatable at "
                    f"the prices hashing to 0x{self.signals['pricesHash']:064x} and the risk parameters hashing "
                    f"to 0x{self.signals['paramsHash']:064x} (Poseidon)")
        if self.statement == "liquidation":
            return (f"position {self.commitment_hex} has health factor < {t} (Aave v3.5 rounding): "
                    f"liquidatable at prices {self._prices()}")
        return (f"position {self.commitment_hex} has health factor >= {t} (Aave v3.5 rounding) at prices "
                f"{self._prices()}{self._context_text()}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statement": self.statement, "circuit": self.circuit, "commitment": self.commitment_hex}
        if self.is_perp:
            out["marginRatio_bps"] = self.signals["marginRatio"]
            out["markets"] = self.perp_markets()
        elif self.statement == "liquidation_hashed":
            out["hfThreshold"] = str(self.threshold)
            out["hfThreshold_decimal"] = format_wad(self.threshold)
            out["pricesHash"] = f"0x{self.signals['pricesHash']:064x}"
            out["paramsHash"] = f"0x{self.signals['paramsHash']:064x}"
        elif self.statement == "liquidation_step":
            s = self.signals
            out["newCommitment"] = f"0x{s['newCommitment']:064x}"
            out["assets"] = [{**a.to_json(), "liquidationBonus": s[f"liqBonus[{a.index}]"],
                              "liquidationProtocolFee": s[f"protocolFee[{a.index}]"]} for a in self.slots]
            out["collateralAsset"] = {"slot": s["collateralAsset"], "symbol": self._symbol(s["collateralAsset"])}
            out["debtAsset"] = {"slot": s["debtAsset"], "symbol": self._symbol(s["debtAsset"])}
            for k in ("debtToCover", "debtRepaid", "collateralToLiquidator", "protocolFeeAmount"):
                out[k] = str(s[k])
            out["deficit"] = bool(s["deficit"])
        else:
            out["hfThreshold"] = str(self.threshold)
            out["hfThreshold_decimal"] = format_wad(self.threshold)
            out["assets"] = [s.to_json() for s in self.slots]
        if self.is_attestation:
            out["context"] = {"domain": f"0x{self.signals['domain']:064x}", "expiry": self.signals["expiry"],
                              "nonce": str(self.signals["nonce"])}
        out["summary"] = self.describe()
        return out


def _signed(v: int) -> int:
    """A field element read as a signed integer (v > r/2 is negative)."""
    return v - R if v > R // 2 else v


def _fixed(v: int, places: int) -> str:
    whole, frac = divmod(v, 10**places)
    return f"{whole}.{frac:0{places}d}"


def vkey_hash(vkey: Any) -> str:
    """sha256 of the canonical JSON of a verification key (independent of formatting)."""
    return paths.sha256_json(vkey)


@dataclass(frozen=True)
class Bundle:
    statement: str
    circuit: str
    public_signals: list[str]
    proof: dict[str, Any]
    vkey: dict[str, Any]
    vkey_sha256: str
    setup: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "statement": self.statement,
            "circuit": self.circuit,
            "claim": decode_claim(self).to_json(),
            "public_signals": self.public_signals,
            "proof": self.proof,
            "vkey_sha256": self.vkey_sha256,
            "verification_key": self.vkey,
            "setup": self.setup,
            "context": self.context,
        }

    def save(self, path: str | Path) -> None:
        write_json_atomic(path, self.to_json())


def decode_claim(bundle: Bundle) -> Claim:
    """Named, typed public inputs. BundleError if they do not fit the circuit."""
    spec = registry.load_registry().get(bundle.circuit)
    if spec is None:
        raise BundleError("circuit", f"unknown circuit {bundle.circuit!r}")
    if spec.statement != bundle.statement:
        raise BundleError("statement", f"circuit {spec.id} proves {spec.statement}, bundle says {bundle.statement}")
    names = spec.public_signal_names()
    if len(bundle.public_signals) != len(names):
        raise BundleError("public_signals", f"{spec.id} has {len(names)} public signals, bundle has {len(bundle.public_signals)}")
    try:
        values = dict(zip(names, parse_public_signals(bundle.public_signals, len(names))))
    except InputError as e:  # the verifiers' own rules, so a bundle decodes only what they would read
        raise BundleError(e.field, e.detail) from None
    ctx_assets = bundle.context.get("assets")
    symbols: list[Any] = ctx_assets if isinstance(ctx_assets, list) else []
    return Claim(spec.statement, spec.id, values,
                 tuple(str(symbols[i]) if i < len(symbols) else None for i in range(spec.n_assets)))


def bundle_from_json(data: Any) -> Bundle:
    if not isinstance(data, dict):
        raise BundleError("bundle", "must be a JSON object")
    if data.get("format") != FORMAT:
        raise BundleError("format", f"must be {FORMAT!r}")
    for key, typ in (("statement", str), ("circuit", str), ("public_signals", list), ("proof", dict),
                     ("verification_key", dict), ("vkey_sha256", str)):
        if not isinstance(data.get(key), typ):
            raise BundleError(key, f"missing or not a {typ.__name__}")
    for key in ("setup", "context"):
        if not isinstance(data.get(key, {}), dict):
            raise BundleError(key, "must be an object")
    b = Bundle(
        statement=data["statement"],
        circuit=data["circuit"],
        public_signals=data["public_signals"],
        proof=data["proof"],
        vkey=data["verification_key"],
        vkey_sha256=data["vkey_sha256"],
        setup=data.get("setup", {}),
        context=data.get("context", {}),
    )
    decode_claim(b)  # shape check: raises BundleError if the signals do not fit
    return b


def load_bundle(path: str | Path) -> Bundle:
    try:
        return bundle_from_json(read_json(path, "bundle"))
    except InputError as e:
        if e.source is not None:
            raise
        raise BundleError(e.field, e.detail, source=f"bundle {path}") from None
