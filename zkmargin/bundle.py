"""Proof bundles: one JSON file a third party can check on its own.

The claim is always decoded from the public signals (never read from the
bundle's prose), and everything under "context" is informational: it is not
bound by the proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import paths, registry
from . import statement as statement_registry
from .errors import BundleError, InputError
from .field import R
from .fsutil import write_json_atomic
from .groth16_format import parse_proof, parse_public_signals, parse_vkey
from .limits import PRICE_DECIMALS
from .loaders import read_json
from .statement import Statement

FORMAT = "zkmargin.bundle/1"


@dataclass(frozen=True)
class SlotClaim:
    """A lending slot's proven price and risk parameters."""

    index: int
    symbol: str | None  # from the verifier's own market file, when it pinned one; never from the bundle
    price: int
    decimals: int
    liquidation_threshold: int
    liquidity_index: int | None = None  # ray
    borrow_index: int | None = None  # ray

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "slot": self.index,
            "symbol": self.symbol,
            "price": str(self.price),
            "price_decimal": fixed_decimal(self.price, PRICE_DECIMALS),
            "decimals": self.decimals,
            "liquidationThreshold": self.liquidation_threshold,
        }
        if self.liquidity_index is not None and self.borrow_index is not None:
            out["liquidityIndex"] = str(self.liquidity_index)
            out["variableBorrowIndex"] = str(self.borrow_index)
        return out


@dataclass(frozen=True)
class Claim:
    """What a valid proof establishes: its named public signals, decoded. How it reads in words
    and in JSON is its statement's (zkmargin.statement); the helpers here are shared."""

    statement: str
    circuit: str
    signals: dict[str, int]
    symbols: tuple[str | None, ...]  # slot names the verifier trusts (its market file), else None

    @property
    def kind(self) -> Statement[Any]:
        return statement_registry.get(self.statement)

    @property
    def commitment(self) -> int:
        """The position the claim is about: `commitment`, a step's `oldCommitment`, or the note a
        pool operation creates (`newCommitment`)."""
        for name in ("commitment", "oldCommitment", "newCommitment"):
            if name in self.signals:
                return self.signals[name]
        raise KeyError("commitment")

    @property
    def commitment_hex(self) -> str:
        return f"0x{self.commitment:064x}"

    @property
    def threshold(self) -> int:
        return self.signals["hfThreshold"]

    @property
    def is_attestation(self) -> bool:
        return self.kind.attestation

    @property
    def n_slots(self) -> int:
        return sum(1 for k in self.signals if k.startswith("price["))

    def symbol_of(self, index: int) -> str | None:
        return self.symbols[index] if 0 <= index < len(self.symbols) else None

    def slot_name(self, index: int) -> str:
        return self.symbol_of(index) or f"slot{index}"

    def signed(self, name: str) -> int:
        """A signal read as a signed integer (a field element > r/2 is negative)."""
        v = self.signals[name]
        return v - R if v > R // 2 else v

    @property
    def slots(self) -> tuple[SlotClaim, ...]:
        s = self.signals
        return tuple(
            SlotClaim(
                i,
                self.symbol_of(i),
                s[f"price[{i}]"],
                s[f"decimals[{i}]"],
                s[f"liqThreshold[{i}]"],
                s.get(f"liquidityIndex[{i}]"),
                s.get(f"borrowIndex[{i}]"),
            )
            for i in range(self.n_slots)
        )

    def attestation_text(self) -> str:
        expiry = _utc(self.signals["expiry"])
        return f"; for domain 0x{self.signals['domain']:064x}, until {expiry}, nonce {self.signals['nonce']}"

    def describe(self) -> str:
        return self.kind.describe(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "statement": self.statement,
            "circuit": self.circuit,
            "commitment": self.commitment_hex,
            **self.kind.claim_json(self),
        }
        if self.is_attestation:
            out["context"] = {
                "domain": f"0x{self.signals['domain']:064x}",
                "expiry": self.signals["expiry"],
                "nonce": str(self.signals["nonce"]),
            }
        out["summary"] = self.describe()
        return out


def _utc(t: int) -> str:
    """A unix time as an ISO date; the bare number past year 9999 (a proven expiry is any 64-bit value)."""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"unix time {t}"


def fixed_decimal(v: int, places: int) -> str:
    """An integer with `places` implied decimals, exactly: (250000000000, 8) -> "2500.00000000"."""
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
        raise BundleError(
            "public_signals", f"{spec.id} has {len(names)} public signals, bundle has {len(bundle.public_signals)}"
        )
    try:
        values = dict(zip(names, parse_public_signals(bundle.public_signals, len(names)), strict=True))
    except InputError as e:  # the verifiers' own rules, so a bundle decodes only what they would read
        raise BundleError(e.field, e.detail) from None
    return Claim(
        spec.statement, spec.id, values, tuple(symbols[i] if i < len(symbols) else None for i in range(spec.n_assets))
    )


def bundle_from_json(data: Any) -> Bundle:
    if not isinstance(data, dict):
        raise BundleError("bundle", "must be a JSON object")
    if data.get("format") != FORMAT:
        raise BundleError("format", f"must be {FORMAT!r}")
    for key, typ in (
        ("statement", str),
        ("circuit", str),
        ("public_signals", list),
        ("proof", dict),
        ("verification_key", dict),
        ("vkey_sha256", str),
    ):
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
