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
from .groth16_format import parse_proof, parse_public_signals, parse_vkey
from .limits import PRICE_DECIMALS, WAD
from .loaders import read_json
from .model import format_wad

FORMAT = "zkmargin.bundle/1"


@dataclass(frozen=True)
class SlotClaim:
    index: int
    symbol: str | None  # from the verifier's own market file, when it pinned one; never from the bundle
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
    symbols: tuple[str | None, ...]  # slot names the verifier trusts (its market file), else None

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
        return ", ".join(f"{self._symbol(s.index)}={_fixed(s.price, PRICE_DECIMALS)}" for s in self.slots)

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
        expiry = _utc(self.signals["expiry"])
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
            ratio_bps = self.signals["marginRatio"]
            ratio = f"{ratio_bps / 10_000:g}x"
            quotes = ", ".join(f"{self._symbol(m['slot'])}={m['price_decimal']} (funding index {m['fundingIndex']})"
                               for m in self.perp_markets())
            # "liquidatable" only for the protocol's own condition (equity < 1x MM)
            relation = (f">= {ratio} maintenance margin" if self.statement == "perp_attestation" else
                        "< maintenance margin: liquidatable" if ratio_bps == 10_000 else
                        f"< {ratio} maintenance margin")
            return f"perp account {self.commitment_hex} has equity {relation} at {quotes}{self._context_text()}"
        t = format_wad(self.threshold)
        # "liquidatable" only for the protocol's own threshold (HF < 1); any other is just the inequality
        verdict = ": liquidatable" if self.threshold == WAD else ""
        if self.statement == "liquidation_hashed":
            return (f"position {self.commitment_hex} has health factor < {t} (Aave v3.5 rounding){verdict} at "
                    f"the prices hashing to 0x{self.signals['pricesHash']:064x} and the risk parameters hashing "
                    f"to 0x{self.signals['paramsHash']:064x} (Poseidon)")
        if self.statement == "liquidation":
            return (f"position {self.commitment_hex} has health factor < {t} (Aave v3.5 rounding){verdict} "
                    f"at prices {self._prices()}")
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


def _utc(t: int) -> str:
    """A unix time as an ISO date; the bare number past year 9999 (a proven expiry is any 64-bit value)."""
    try:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix time {t}"


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


def decode_claim(bundle: Bundle, symbols: tuple[str, ...] = ()) -> Claim:
    """Named, typed public inputs. BundleError if they do not fit the circuit.

    `symbols` names the slots, from a market file the reader trusts; the bundle's own context
    is never used for that (it is not proven: it could relabel the proven prices)."""
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
    return Claim(spec.statement, spec.id, values,
                 tuple(symbols[i] if i < len(symbols) else None for i in range(spec.n_assets)))


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
    claim = decode_claim(b)  # shape check: raises BundleError if the signals do not fit
    try:  # the verifiers' one parser: a malformed proof or key is bad input (exit 2) at load, for every command
        parse_proof(b.proof)
        parse_vkey(b.vkey, n_public=len(claim.signals))
    except InputError as e:
        raise BundleError(e.field, e.detail) from None
    return b


def load_bundle(path: str | Path) -> Bundle:
    try:
        return bundle_from_json(read_json(path, "bundle"))
    except InputError as e:
        if e.source is not None:
            raise
        raise BundleError(e.field, e.detail, source=f"bundle {path}") from None
