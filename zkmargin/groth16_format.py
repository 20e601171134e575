"""The one parser of Groth16 proofs, verification keys and public signals (snarkjs's JSON, BN254).

Every verification backend (reference, native, snarkjs, evm) parses its inputs here first and
then uses only the parsed values, so an input means the same thing to all of them, or all of
them refuse it with the same InputError (whose `field` names the place: "proof.pi_a[2]",
"vkey.IC", "public_signals[3]"). Malformed input is an InputError; a well-formed proof that
fails the pairing is the backends' `Verification(False, ...)`.

The encoding accepted is exactly what snarkjs writes:
- Numbers are decimal strings: ASCII digits, no sign, no leading zero, at most 78 digits
  (2^256 has 78). No JSON numbers (a float would round silently, and the backends used to
  disagree on them), no hex (snarkjs's reader takes "0x..", the others did not).
- Coordinates are canonical, < q. snarkjs reduces x + q to x; the EVM precompile refuses it.
- Points are affine: G1 [x, y, "1"], G2 [[x0, x1], [y0, y1], ["1", "0"]] (Fp2 as [c0, c1]).
  Another z is refused even when it describes the same point: verifyProof's calldata has no
  z, so the EVM path would have to drop or divide it, and the others would have to agree.
- No point at infinity, anywhere. snarkjs writes it [0, 1, 0] (any z = 0), the EVM
  precompile and the C engine read (0, 0): three encodings to disagree about. An honest
  proof or key never holds one: A, B, C and alpha, beta, gamma, delta are (blinded by)
  random multiples of the generators, and each IC_i includes the constraint snarkjs adds for
  public input i, so it is infinity only with negligible probability. The EVM verifier
  could not use one either: snarkjs's template renders an IC at infinity as (0, 1), which
  ecMul refuses. z = 0 is refused as a z != 1; (0, 0) is refused as off the curve.
- Points are on their curve, and B, beta, gamma and delta in G2 (the twist has a cofactor;
  G1 has none, so on the curve is in G1).
- A proof has pi_a, pi_b, pi_c, and may say protocol "groth16" and curve "bn128" (snarkjs
  writes both, rapidsnark only the protocol); any other key is refused.
- A key has protocol "groth16", curve "bn128", nPublic (a JSON integer, equal to len(IC) - 1
  and, when the caller knows the circuit, to its public-signal count), vk_alpha_1, vk_beta_2,
  vk_gamma_2, vk_delta_2 and IC; any other key is refused except vk_alphabeta_12, which is
  ignored: no backend reads it (snarkjs 0.7's groth16.verify pairs alpha with beta itself, the
  Solidity template puts alpha and beta into the pairing, the native engines compute
  e(alpha, beta)), and the key handed to snarkjs and to the Solidity renderer is rebuilt by
  VerifyingKey.to_json without it, so it cannot reach one. Checking it against e(alpha, beta)
  would cost a pairing per key for a value nothing uses.
- Public signals are a list of exactly nPublic decimal strings, each < r.

parse_batch parses many (public signals, proof) pairs of one key by the same rules, with the
same first error as parsing them one after the other, but runs the G2 membership tests of all
their B points at once on every core: one after the other they would cost about as much as
the batch verification itself.

pack_batch is the batch verifier's fast path: every rule above except the curve and subgroup
tests, checked over the whole batch at once, the values packed as the C engine reads them. The
C engine then tests every point (on its curve, B in G2) on all cores in the call that verifies
the batch, and when one fails the caller runs parse_batch, which names the first fault; input
pack_batch does not accept (None) also goes through parse_batch. Parsing 64 proofs one by one
in Python cost as much as their pairing (docs: benchmarks/peers.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import bn254, native
from .bn254 import F2
from .errors import InputError
from .field import Q, R

PROTOCOL = "groth16"
CURVE = "bn128"  # snarkjs's name for BN254
MAX_DIGITS = 78
_DECIMAL = re.compile(rf"0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}}")  # [0-9], not \d: "²" is a \d
_DECIMALS = re.compile(rf"(?:{_DECIMAL.pattern})(?:,(?:{_DECIMAL.pattern}))*")  # a list of them, comma-joined
DECIMAL_RULE = f"a decimal string (ASCII digits, no sign or leading zero, at most {MAX_DIGITS} digits)"
PROOF_POINTS = ("pi_a", "pi_b", "pi_c")
VKEY_FIELDS = ("protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC")
VKEY_IGNORED = "vk_alphabeta_12"
_G1_SHAPE = '[x, y, "1"]: three decimal strings'
_G2_SHAPE = '[[x0, x1], [y0, y1], ["1", "0"]]: three pairs of decimal strings'
_INFINITY = "points are affine, and the point at infinity is not accepted"
_NOT_IN_G2 = "is on the twist but not in G2 (its subgroup of order r)"


@dataclass(frozen=True)
class G1Affine:
    """A point of G1, never infinity."""

    x: int
    y: int

    def to_json(self) -> list[str]:
        return [str(self.x), str(self.y), "1"]


@dataclass(frozen=True)
class G2Affine:
    """A point of G2 (on the twist, in the order-r subgroup), never infinity."""

    x: F2
    y: F2

    def to_json(self) -> list[list[str]]:
        return [[str(self.x[0]), str(self.x[1])], [str(self.y[0]), str(self.y[1])], ["1", "0"]]


@dataclass(frozen=True)
class Proof:
    a: G1Affine
    b: G2Affine
    c: G1Affine

    def to_json(self) -> dict[str, Any]:
        """The canonical snarkjs proof.json of these points."""
        return {
            "pi_a": self.a.to_json(),
            "pi_b": self.b.to_json(),
            "pi_c": self.c.to_json(),
            "protocol": PROTOCOL,
            "curve": CURVE,
        }


@dataclass(frozen=True)
class VerifyingKey:
    alpha: G1Affine
    beta: G2Affine
    gamma: G2Affine
    delta: G2Affine
    ic: tuple[G1Affine, ...]  # IC[0] + sum s_i IC[i+1] is the public-input point

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    def to_json(self) -> dict[str, Any]:
        """The canonical snarkjs verification_key.json of this key (without vk_alphabeta_12)."""
        return {
            "protocol": PROTOCOL,
            "curve": CURVE,
            "nPublic": self.n_public,
            "vk_alpha_1": self.alpha.to_json(),
            "vk_beta_2": self.beta.to_json(),
            "vk_gamma_2": self.gamma.to_json(),
            "vk_delta_2": self.delta.to_json(),
            "IC": [p.to_json() for p in self.ic],
        }


def parse_proof(obj: Any) -> Proof:
    """A snarkjs proof.json object, checked by the rules above; InputError naming "proof...."."""
    return _proof(obj, subgroup=True)


def _proof(obj: Any, subgroup: bool) -> Proof:
    """parse_proof, but without the G2 membership test of B when `subgroup` is False."""
    if not isinstance(obj, dict):
        raise InputError("proof", f"must be a JSON object with pi_a, pi_b and pi_c, got {_kind(obj)}")
    _only_keys(obj, "proof", (*PROOF_POINTS, "protocol", "curve"))
    for key, want in (("protocol", PROTOCOL), ("curve", CURVE)):
        if key in obj and obj[key] != want:
            raise InputError(f"proof.{key}", f'must be "{want}" or absent, got {_kind(obj[key])}')
    _required(obj, "proof", PROOF_POINTS)
    a, b = _g1(obj["pi_a"], "proof.pi_a"), _g2(obj["pi_b"], "proof.pi_b", subgroup)
    return Proof(a, b, _g1(obj["pi_c"], "proof.pi_c"))


def parse_batch(
    items: Sequence[tuple[Any, Any]], n_public: int | None, threads: int | None = None
) -> list[tuple[list[int], Proof]]:
    """(public signals, proof) pairs, each parsed as parse_public_signals(public, n_public) then
    parse_proof(proof): the same values, and the same first InputError with its field prefixed by
    "items[i].". With the C library, the B points' G2 membership tests run together, shared among
    `threads` threads (default: every core), after the other checks."""
    if not native.available():
        return [_item(i, public, proof, n_public) for i, (public, proof) in enumerate(items)]
    parsed: list[tuple[list[int], Proof]] = []
    first_bad = None
    for i, (public, proof) in enumerate(items):
        try:
            parsed.append((parse_public_signals(public, n_public), _proof(proof, subgroup=False)))
        except InputError:
            first_bad = i
            break
    members = native.g2_in_subgroup_many([(p.b.x, p.b.y) for _, p in parsed], threads)
    for i, member in enumerate(members):
        if not member:  # before first_bad: this is the first error in order
            raise InputError(f"items[{i}].proof.pi_b", _NOT_IN_G2)
    if first_bad is not None:  # the sequential parse of that item raises its first error
        public, proof = items[first_bad]
        _item(first_bad, public, proof, n_public)
        raise AssertionError("unreachable: the item failed its first parse")  # pragma: no cover
    return parsed


@dataclass(frozen=True)
class PackedBatch:
    """(public signals, proof) pairs in the C engine's layout, syntax checked (pack_batch) but
    with points not yet tested for being on their curve and in G2."""

    n: int
    proofs: bytes  # per proof A, B, C: 8 coordinates of 32 bytes, little-endian (B: x0, x1, y0, y1)
    publics: bytes  # per proof n_public values of 32 bytes, little-endian


_PROOF_KEYS = frozenset(("pi_a", "pi_b", "pi_c", "protocol", "curve"))
_Z2 = ["1", "0"]


def pack_batch(items: Sequence[tuple[Any, Any]], n_public: int) -> PackedBatch | None:
    """The items packed for the C engine when every rule of parse_batch other than the point
    tests holds for all of them (shape, keys, decimal strings, canonical values, affine z),
    checked in one pass over the batch; None when one does not, for parse_batch to name it. The
    caller must test the points (zkm_groth16_verify with a status buffer does)."""
    coords: list[Any] = []
    pubs: list[Any] = []
    try:
        for public, proof in items:
            if type(public) is not list or len(public) != n_public or type(proof) is not dict:
                return None
            if not proof.keys() <= _PROOF_KEYS or not {"pi_a", "pi_b", "pi_c"} <= proof.keys():
                return None
            if proof.get("protocol", PROTOCOL) != PROTOCOL or proof.get("curve", CURVE) != CURVE:
                return None
            a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
            if type(a) is not list or type(b) is not list or type(c) is not list:
                return None
            if len(a) != 3 or len(c) != 3 or len(b) != 3 or a[2] != "1" or c[2] != "1" or b[2] != _Z2:
                return None
            bx, by = b[0], b[1]
            if type(bx) is not list or type(by) is not list or len(bx) != 2 or len(by) != 2:
                return None
            coords += (a[0], a[1], bx[0], bx[1], by[0], by[1], c[0], c[1])
            pubs += public
    except (TypeError, ValueError):  # e.g. an unhashable key in a comparison
        return None
    if not all(type(v) is str for v in coords) or not all(type(v) is str for v in pubs):
        return None
    if native.available():  # the same rules, read in C: a fifth of the time
        try:
            text = ",".join(coords + pubs).encode("ascii")
        except UnicodeEncodeError:
            return None
        values = native.parse_decimals(text, len(coords) + len(pubs), len(coords))
        if values is None:
            return None
        return PackedBatch(len(items), values[: 32 * len(coords)], values[32 * len(coords) :])
    for texts in (coords, pubs):
        # a comma inside a string adds a value: the count catches it (empty values do not match)
        joined = ",".join(texts)
        if texts and (joined.count(",") != len(texts) - 1 or not _DECIMALS.fullmatch(joined)):
            return None
    xs, ps = [int(v) for v in coords], [int(v) for v in pubs]
    if (xs and max(xs) >= Q) or (ps and max(ps) >= R):
        return None
    return PackedBatch(
        len(items),
        b"".join([v.to_bytes(32, "little") for v in xs]),
        b"".join([v.to_bytes(32, "little") for v in ps]),
    )


def _item(i: int, public: Any, proof: Any, n_public: int | None) -> tuple[list[int], Proof]:
    try:
        return parse_public_signals(public, n_public), parse_proof(proof)
    except InputError as e:
        raise InputError(f"items[{i}].{e.field}", e.detail) from None


def parse_vkey(obj: Any, n_public: int | None = None) -> VerifyingKey:
    """A snarkjs verification_key.json object, checked by the rules above; InputError naming
    "vkey....". n_public: the circuit's public-signal count, when the caller knows it."""
    if not isinstance(obj, dict):
        raise InputError("vkey", f"must be a JSON object (snarkjs's verification_key.json), got {_kind(obj)}")
    _only_keys(obj, "vkey", (*VKEY_FIELDS, VKEY_IGNORED))
    _required(obj, "vkey", VKEY_FIELDS)
    for key, want in (("protocol", PROTOCOL), ("curve", CURVE)):
        if obj[key] != want:
            raise InputError(f"vkey.{key}", f'must be "{want}", got {_kind(obj[key])}')
    n = obj["nPublic"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError("vkey.nPublic", f"must be a non-negative JSON integer, got {_kind(n)}")
    if n_public is not None and n != n_public:
        raise InputError("vkey.nPublic", f"is {n}, but the circuit has {n_public} public signals")
    ic = obj["IC"]
    if not isinstance(ic, list) or len(ic) != n + 1:
        got = f"{len(ic)} points" if isinstance(ic, list) else _kind(ic)
        raise InputError("vkey.IC", f"must be a list of nPublic + 1 = {n + 1} G1 points, got {got}")
    return VerifyingKey(
        _g1(obj["vk_alpha_1"], "vkey.vk_alpha_1"),
        _g2(obj["vk_beta_2"], "vkey.vk_beta_2"),
        _g2(obj["vk_gamma_2"], "vkey.vk_gamma_2"),
        _g2(obj["vk_delta_2"], "vkey.vk_delta_2"),
        tuple(_g1(p, f"vkey.IC[{i}]") for i, p in enumerate(ic)),
    )


def parse_public_signals(obj: Any, n: int | None) -> list[int]:
    """A list of n decimal strings, each < r (n None: any count, for callers where something
    else fixes it, like verifyProof's ABI type); InputError naming "public_signals...."."""
    if not isinstance(obj, list):
        raise InputError("public_signals", f"must be a list of decimal strings, got {_kind(obj)}")
    if n is not None and len(obj) != n:
        raise InputError("public_signals", f"must be {n} decimal strings (the key's nPublic), got {len(obj)}")
    # the common case at once (half the time of a batch's parsing): all strings, the joined text
    # a list of decimals with no comma from inside one, every value < r; else one by one, which
    # finds the first faulty signal
    if all(type(s) is str for s in obj):
        joined = ",".join(obj)
        if joined.count(",") == len(obj) - 1 and _DECIMALS.fullmatch(joined):
            values = [int(s) for s in obj]
            if all(v < R for v in values):
                return values
    return [_decimal(s, f"public_signals[{i}]", R, "r (the BN254 scalar field)") for i, s in enumerate(obj)]


def parse_inputs(vkey: Any, public_signals: Any, proof: Any) -> tuple[VerifyingKey, list[int], Proof]:
    """Key, then public signals (as many as the key's nPublic), then proof: the order every
    backend checks in, so that input with several faults gets the same error everywhere."""
    key = parse_vkey(vkey)
    return key, parse_public_signals(public_signals, key.n_public), parse_proof(proof)


def _decimal(v: Any, field: str, bound: int, bound_name: str) -> int:
    if not isinstance(v, str) or not _DECIMAL.fullmatch(v):
        raise InputError(field, f"must be {DECIMAL_RULE}, got {_kind(v)}")
    n = int(v)
    if n >= bound:
        raise InputError(field, f"must be < {bound_name}: every value has exactly one encoding")
    return n


def _coordinate(v: Any, field: str) -> int:
    return _decimal(v, field, Q, "q (a canonical base-field element)")


def _list(v: Any, n: int, field: str, shape: str) -> list[Any]:
    if not isinstance(v, list) or len(v) != n:
        raise InputError(field, f"must be {shape}, got {_kind(v)}")
    return v


def _g1(v: Any, field: str) -> G1Affine:
    x, y, z = (_coordinate(c, f"{field}[{i}]") for i, c in enumerate(_list(v, 3, field, _G1_SHAPE)))
    if z != 1:
        raise InputError(f"{field}[2]", f'must be "1": {_INFINITY}')
    if not bn254.on_g1(x, y):
        raise InputError(field, _off_curve("the BN254 curve y^2 = x^3 + 3", x == y == 0))
    return G1Affine(x, y)


def _f2(v: Any, field: str) -> F2:
    c0, c1 = (
        _coordinate(c, f"{field}[{j}]") for j, c in enumerate(_list(v, 2, field, "a pair [c0, c1] of decimal strings"))
    )
    return (c0, c1)


def _g2(v: Any, field: str, subgroup: bool = True) -> G2Affine:
    x, y, z = (_f2(row, f"{field}[{i}]") for i, row in enumerate(_list(v, 3, field, _G2_SHAPE)))
    if z != (1, 0):
        raise InputError(f"{field}[2]", f'must be ["1", "0"]: {_INFINITY}')
    if not bn254.on_twist(x, y):
        raise InputError(field, _off_curve("the BN254 twist y^2 = x^3 + 3/(9 + i)", x == y == (0, 0)))
    if subgroup and not _in_g2(x, y):
        raise InputError(field, _NOT_IN_G2)
    return G2Affine(x, y)


def _in_g2(x: F2, y: F2) -> bool:
    """One test, two implementations held equal by the tests: the compiled one when the library
    builds (10x faster, and every proof's B takes it), else Python."""
    return native.g2_in_subgroup(x, y) if native.available() else bn254.in_g2(x, y)


def _off_curve(curve: str, origin: bool) -> str:
    if origin:
        return f"is (0, 0), which is not on {curve} (the EVM reads it as the point at infinity, which is not accepted)"
    return f"is not on {curve}"


def _only_keys(obj: dict[Any, Any], field: str, allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise InputError(
                f"{field}.{key}", f"is not a field of a snarkjs Groth16 {field}; allowed: {', '.join(allowed)}"
            )


def _required(obj: dict[Any, Any], field: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        if key not in obj:
            raise InputError(f"{field}.{key}", "missing")


def _kind(v: Any) -> str:
    """A short description of a JSON value for a message (never a 5000-digit echo)."""
    if isinstance(v, str):
        return repr(v) if len(v) <= 24 else f"a string of {len(v)} characters"
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return "a JSON number" if isinstance(v, (int, float)) else "a number or other non-string value"
