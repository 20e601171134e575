"""Faster native Groth16 verification (same answers as groth16.verify, the py_ecc reference).

Two engines with the same answers: "c", zkmargin/native/pairing.c (64-bit Montgomery arithmetic,
a tower Fp12, a cyclotomic final exponentiation, a per-key precomputation in PreparedKey.c_prepared;
the default when a C compiler builds it), and "python", below, where the C code started and
which remains the fallback. Either way the key, the public signals and the proof are
parsed by groth16_format first (InputError when malformed), and the engines see only the parsed
points: finite, affine, on their curves, B in G2.
What makes the Python engine faster than py_ecc's generic pairing:
- a PreparedKey caches, per verification key, e(alpha, beta)'s Miller value, the line
  functions of the fixed G2 points gamma and delta, and fixed-base window tables for the
  public-input MSM;
- the Miller loop walks the G2 point on the twist (Fp2 arithmetic) and embeds each line
  into Fp12 as a sparse element, instead of doing the whole loop in Fp12;
- the final exponentiation uses Frobenius maps: the easy part f^((p^6-1)(p^2+1)), then
  the hard part (p^4 - p^2 + 1)/r written in base p as a 4-way simultaneous exponentiation;
- batch verification checks many proofs of one key with a random linear combination:
  one shared Miller loop and a single final exponentiation.
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_curve import add, is_inf, neg, normalize, twist
from py_ecc.optimized_bn128.optimized_pairing import linefunc

from . import bn254, native
from .bn254 import F2, P2
from .bn254 import f2_mul as _m  # short names keep the line formulas below readable
from .bn254 import f2_scale as _k
from .bn254 import f2_sub as _s
from .bn254 import g2_add as _add
from .bn254 import g2_dbl as _dbl
from .field import Q, R
from .groth16 import G1Point, G2Point, Verification, g1_point, g2_point
from .groth16_format import (
    G1Affine,
    G2Affine,
    PackedBatch,
    Proof,
    VerifyingKey,
    pack_batch,
    parse_batch,
    parse_proof,
    parse_public_signals,
    parse_vkey,
)

Line = tuple[FQ12, FQ12, FQ12, FQ12]  # num(P) = x*A + y*B + C, and den
log = logging.getLogger("zkmargin")
_FALLBACK_SAID = threading.Event()
_LOOP = bn254.LOOP


# --- G1 on plain ints, same homogeneous projective formulas ---
P1 = tuple[int, int, int]
_INF1: P1 = (1, 1, 0)


def _dbl1(p: P1) -> P1:
    x, y, z = p
    w = 3 * x * x % Q
    s = y * z % Q
    b = x * y * s % Q
    h = (w * w - 8 * b) % Q
    s2 = s * s % Q
    return (2 * h * s % Q, (w * (4 * b - h) - 8 * y * y * s2) % Q, 8 * s * s2 % Q)


def _add1(p1: P1, p2: P1) -> P1:
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    u1, u2 = y2 * z1 % Q, y1 * z2 % Q
    v1, v2 = x2 * z1 % Q, x1 * z2 % Q
    if v1 == v2:
        return _dbl1(p1) if u1 == u2 else _INF1
    u, v = (u1 - u2) % Q, (v1 - v2) % Q
    v_sq = v * v % Q
    v_sq_v2 = v_sq * v2 % Q
    v_cu = v * v_sq % Q
    w = z1 * z2 % Q
    a = (u * u * w - v_cu - 2 * v_sq_v2) % Q
    return (v * a % Q, (u * (v_sq_v2 - a) - v_cu * u2) % Q, v_cu * w % Q)


def _mul1(p: P1, n: int) -> P1:
    acc = _INF1
    for bit in bin(n)[2:]:
        acc = _dbl1(acc)
        if bit == "1":
            acc = _add1(acc, p)
    return acc


def _g1_ints(p: G1Point) -> P1:
    return (int(p[0]), int(p[1]), int(p[2]))


def _g1_obj(p: P1) -> G1Point:
    return (FQ(p[0]), FQ(p[1]), FQ(p[2]))


def _ints(q: G2Point) -> P2:
    return tuple((int(c.coeffs[0]), int(c.coeffs[1])) for c in q)  # type: ignore[return-value]


def _obj(p: P2) -> G2Point:
    return (FQ2(list(p[0])), FQ2(list(p[1])), FQ2(list(p[2])))


def _embed(e: F2, k: int) -> FQ12:
    """Fp2 element (via the twist's isomorphism i -> w^6 - 9) times w^k, as an FQ12."""
    c0, c1 = e
    coeffs = [0] * 12
    coeffs[0], coeffs[6] = c0 - 9 * c1, c1
    for _ in range(k):  # multiply by w, reducing with w^12 = 18 w^6 - 82
        top = coeffs[11]
        coeffs = [0, *coeffs[:11]]
        coeffs[0] -= 82 * top
        coeffs[6] += 18 * top
    return FQ12(coeffs)


def _line(r: P2, q: P2 | None) -> Line:
    """The line through twisted r and q (tangent when q is None), as py_ecc's linefunc would
    evaluate it at an affine G1 point (x, y): same numerator/denominator up to representation."""
    x1, y1, z1 = r
    zero = (0, 0)
    if q is not None:
        x2, y2, z2 = q
        mn = _s(_m(y2, z1), _m(y1, z2))  # scaled by w^3 on the twist
        md = _s(_m(x2, z1), _m(x1, z2))  # scaled by w^2
        if md != zero:
            return (
                _embed(_m(mn, z1), 3),
                _embed(_s(zero, _m(md, z1)), 2),
                _embed(_s(_m(md, y1), _m(mn, x1)), 5),
                _embed(_m(md, z1), 2),
            )
        if mn != zero:  # vertical line
            return (_embed(z1, 0), FQ12.zero(), _embed(_s(zero, x1), 2), _embed(z1, 0))
    mn = _k(3, _m(x1, x1))  # tangent: scaled by w^4
    md = _k(2, _m(y1, z1))  # scaled by w^3
    return (
        _embed(_m(mn, z1), 4),
        _embed(_s(zero, _m(md, z1)), 3),
        _embed(_s(_m(md, y1), _m(mn, x1)), 6),
        _embed(_m(md, z1), 3),
    )


@dataclass(frozen=True)
class LinePlan:
    """All line functions of the Miller loop for one G2 point, independent of the G1 point."""

    steps: list[list[Line]]
    q: G2Point
    # the two closing lines use twisted points in Fp12: R, pi(Q) and -pi^2(Q)
    r_final: tuple[FQ12, FQ12, FQ12]
    q1: tuple[FQ12, FQ12, FQ12]
    nq2: tuple[FQ12, FQ12, FQ12]


def plan(q: G2Point) -> LinePlan:
    steps: list[list[Line]] = []
    qi = _ints(q)
    r = qi
    nq = (qi[0], _s((0, 0), qi[1]), qi[2])
    for v in _LOOP:
        step = [_line(r, None)]
        r = _dbl(r)
        if v:
            qq = qi if v == 1 else nq
            step.append(_line(r, qq))
            r = _add(r, qq)
        steps.append(step)
    qt = twist(q)
    q1 = (frobenius(qt[0]), frobenius(qt[1]), frobenius(qt[2]))
    nq2 = (frobenius(q1[0]), -frobenius(q1[1]), frobenius(q1[2]))
    return LinePlan(steps, q, twist(_obj(r)), q1, nq2)


def _eval(line: Line, x: int, y: int) -> FQ12:
    a, b, c, _ = line
    return a * x + b * y + c


def _miller(items: Sequence[tuple[LinePlan, G1Point]]) -> FQ12:
    """prod of Miller loop values, up to factors the final exponentiation removes, sharing the
    squarings. Denominators are dropped: each is an Fp2 element times w^k, which lies in Fp6 or
    squares into it, so (p^6 - 1)(p^6 + 1)/r sends it to 1 (denominator elimination)."""
    live = [(p, normalize(pt)) for p, pt in items if not is_inf(pt) and not is_inf(p.q)]
    f_num = FQ12.one()
    for i in range(len(_LOOP)):
        f_num = f_num * f_num
        for p, (x, y) in live:
            for line in p.steps[i]:
                f_num = f_num * _eval(line, int(x), int(y))
    for p, (x, y) in live:  # the two Frobenius lines, done the generic way
        pt12 = (FQ12([int(x)] + [0] * 11), FQ12([int(y)] + [0] * 11), FQ12.one())
        n1, _ = linefunc(p.r_final, p.q1, pt12)
        n2, _ = linefunc(add(p.r_final, p.q1), p.nq2, pt12)
        f_num = f_num * n1 * n2
    return f_num


def frobenius(f: FQ12, k: int = 1) -> FQ12:
    """f^(p^k): coefficients are in Fp, so (sum c_i w^i)^p = sum c_i (w^p)^i."""
    table = bn254.frobenius_table()
    for _ in range(k):
        acc = FQ12.zero()
        for c, t in zip(f.coeffs, table, strict=True):
            if int(c):
                acc = acc + t * int(c)
        f = acc
    return f


_DIGITS = bn254.HARD_DIGITS


def final_exponentiation(f: FQ12) -> FQ12:
    """f^((p^12 - 1) / r), equal to py_ecc's final_exponentiate."""
    f1 = frobenius(f, 6) / f  # f^(p^6 - 1)
    f2 = frobenius(f1, 2) * f1  # ^(p^2 + 1)
    bases = [f2, frobenius(f2, 1), frobenius(f2, 2), frobenius(f2, 3)]
    table = [FQ12.one()] * 16
    for mask in range(1, 16):
        low = mask & -mask
        table[mask] = table[mask ^ low] * bases[low.bit_length() - 1]
    acc = FQ12.one()
    for bit in range(max(d.bit_length() for d in _DIGITS) - 1, -1, -1):
        acc = acc * acc
        mask = sum(((d >> bit) & 1) << j for j, d in enumerate(_DIGITS))
        if mask:
            acc = acc * table[mask]
    return acc


class _FixedBase:
    """4-bit window table of one G1 point: k*P as at most 64 additions."""

    def __init__(self, p: G1Point) -> None:
        self.windows: list[list[P1]] = []
        base = _g1_ints(p)
        for _ in range(64):
            row = [_INF1, base]
            for _ in range(14):
                row.append(_add1(row[-1], base))
            self.windows.append(row)
            base = _dbl1(_dbl1(_dbl1(_dbl1(base))))

    def mul(self, k: int) -> P1:
        acc = _INF1
        i = 0
        while k:
            if k & 15:
                acc = _add1(acc, self.windows[i][k & 15])
            k >>= 4
            i += 1
        return acc


class PreparedKey:
    """A parsed verification key (groth16_format.parse_vkey: InputError when malformed); the
    pure-Python precomputation is made on first use."""

    def __init__(self, vkey: Any) -> None:
        self.key: VerifyingKey = parse_vkey(vkey)
        self.alpha = g1_point(self.key.alpha)
        self.beta = g2_point(self.key.beta)
        self.gamma2 = g2_point(self.key.gamma)
        self.delta2 = g2_point(self.key.delta)
        self.ic = [g1_point(p) for p in self.key.ic]
        # the compiled verifier's layout: alpha1, beta2, gamma2, delta2, IC[0..n]
        self.blob = b"".join(
            [
                _g1_blob(self.key.alpha),
                *(_g2_blob(q) for q in (self.key.beta, self.key.gamma, self.key.delta)),
                *(_g1_blob(p) for p in self.key.ic),
            ]
        )

    @property
    def n_public(self) -> int:
        return self.key.n_public

    @cached_property
    def c_prepared(self) -> ctypes.Array[ctypes.c_char]:
        """The compiled verifier's precomputation (zkm_groth16_prepare): the lines of beta, gamma
        and delta, the Miller value of (alpha, beta), a table of multiples of the IC points."""
        lib = native.library()
        out = ctypes.create_string_buffer(lib.zkm_groth16_prepared_size(self.n_public))
        rc = lib.zkm_groth16_prepare(self.n_public, self.blob, native.ctx(), out)
        if rc:
            raise ArithmeticError(f"native verifier could not prepare the key (code {rc})")  # a bug, never bad input
        return out

    @cached_property
    def gamma(self) -> LinePlan:
        return plan(self.gamma2)

    @cached_property
    def delta(self) -> LinePlan:
        return plan(self.delta2)

    @cached_property
    def alpha_beta(self) -> FQ12:
        return _miller([(plan(self.beta), self.alpha)])

    @cached_property
    def tables(self) -> list[_FixedBase]:
        return [_FixedBase(p) for p in self.ic[1:]]

    def vk_x(self, public: Sequence[int], ic0_times: int = 1) -> G1Point:
        """ic0_times * IC[0] + sum public_i * IC[i+1]."""
        acc = _mul1(_g1_ints(self.ic[0]), ic0_times) if ic0_times != 1 else _g1_ints(self.ic[0])
        for s, t in zip(public, self.tables, strict=True):
            if s:
                acc = _add1(acc, t.mul(s))
        return _g1_obj(acc)


def _g1_blob(p: G1Affine) -> bytes:
    """64 bytes: x then y, little-endian standard form (parsed points are never infinity)."""
    return p.x.to_bytes(32, "little") + p.y.to_bytes(32, "little")


def _g2_blob(p: G2Affine) -> bytes:
    return b"".join(c.to_bytes(32, "little") for c in (*p.x, *p.y))


Engine = Literal["auto", "c", "python"]  # "auto": c when the library builds, else python


def _engine(engine: Engine) -> str:
    if engine not in ("auto", "c", "python"):
        raise ValueError(f"engine must be auto, c or python, not {engine!r}")
    if engine == "auto":
        why_not = native.unavailable_reason()
        if why_not is None:
            return "c"
        if not _FALLBACK_SAID.is_set():  # once per process: a batch or a scan would repeat it
            _FALLBACK_SAID.set()
            log.warning("verifying with the pure-Python engine (about 10x slower than the C engine): %s", why_not)
        return "python"
    return engine


def _parse(key: PreparedKey, public_signals: Any, proof: Any) -> tuple[list[int], Proof]:
    """Public signals (as many as the key's nPublic), then the proof: groth16_format's order."""
    return parse_public_signals(public_signals, key.n_public), parse_proof(proof)


def _proof_blob(proof: Proof) -> bytes:
    """The C engine's 256 bytes: A, B, C."""
    return _g1_blob(proof.a) + _g2_blob(proof.b) + _g1_blob(proof.c)


def _c_check(
    key: PreparedKey,
    parsed: Sequence[tuple[list[int], Proof]],
    weights: Sequence[tuple[int, int]],
    threads: int | None = None,
) -> bool:
    """The compiled verifier's pairing answer for parsed proofs (points already checked)."""
    ws = b"".join(a.to_bytes(8, "little") + b.to_bytes(8, "little") for a, b in weights)
    return _c_verify(key, _packed(parsed), ws, threads, None) == 1


def _packed(parsed: Sequence[tuple[list[int], Proof]]) -> PackedBatch:
    """Parsed proofs and signals in the C engine's layout."""
    publics = b"".join(v.to_bytes(32, "little") for pub, _ in parsed for v in pub)
    return PackedBatch(len(parsed), b"".join(_proof_blob(p) for _, p in parsed), publics)


def _c_verify(
    key: PreparedKey,
    batch: PackedBatch,
    weights: bytes,
    threads: int | None,
    status: ctypes.Array[ctypes.c_char] | None,
) -> int:
    """zkm_groth16_verify: 1 valid, 0 invalid, -4 a point failed the test that `status` asks
    for (see pack_batch). By default batches of 16 and more are shared among the cores (at
    least 8 proofs a thread); one proof has too little work to share."""
    n = batch.n
    if threads is None:
        threads = min(os.cpu_count() or 1, n // 8) if n >= 16 else 1
    rc = native.library().zkm_groth16_verify(
        n, key.n_public, key.c_prepared, batch.proofs, batch.publics, weights, max(1, threads), native.ctx(), status
    )
    if rc < 0 and not (rc == -4 and status is not None):
        raise ArithmeticError(f"native verifier failed internally (code {rc})")  # a bug, never bad input
    return int(rc)


def _python_check(key: PreparedKey, pub: list[int], proof: Proof) -> bool:
    f = (
        _miller(
            [
                (plan(g2_point(proof.b)), neg(g1_point(proof.a))),
                (key.gamma, key.vk_x(pub)),
                (key.delta, g1_point(proof.c)),
            ]
        )
        * key.alpha_beta
    )
    return bool(final_exponentiation(f) == FQ12.one())


def verify(key: PreparedKey, public_signals: Any, proof: Any, engine: Engine = "auto") -> Verification:
    """One proof against a prepared key. InputError if the signals or the proof are malformed
    (groth16_format); otherwise the pairing check's answer."""
    use_c = _engine(engine) == "c"
    pub, pr = _parse(key, public_signals, proof)
    ok = _c_check(key, [(pub, pr)], [(1, 0)]) if use_c else _python_check(key, pub, pr)
    return Verification(ok, "pairing check passed" if ok else "pairing check failed")


def verify_batch(
    key: PreparedKey, items: Sequence[tuple[Any, Any]], engine: Engine = "auto", threads: int | None = None
) -> Verification:
    """All (public_signals, proof) pairs at once: valid only if every proof is valid.
    threads: how many cores the C engine uses (default: all, for batches of 16 or more).
    InputError for the first malformed pair, its field prefixed with "items[i].".

    With random r_i (2^127 possible values each, see below), checks prod e(-r_i A_i, B_i)
    * e(alpha, beta)^(sum r_i) * e(sum r_i vk_x_i, gamma) * e(sum r_i C_i, delta) == 1; a batch
    containing an invalid proof passes with probability about 2^-127. Find the culprit with verify()."""
    if _engine(engine) == "c":
        ok = _batch_c(key, items, threads)
    else:
        parsed = parse_batch(items, key.n_public, threads)
        # r_i = a_i + b_i lambda with random 64-bit a_i (odd, so r_i != 0) and b_i: 2^127 distinct
        # values mod r (bn254.glv), and the C engine multiplies A_i by r_i with 64 doublings
        halves = [(secrets.randbits(64) | 1, secrets.randbits(64)) for _ in parsed]
        lam = bn254.glv()[1]
        ok = not parsed or _batch_python(key, parsed, [(a + b * lam) % R for a, b in halves])
    if not items:
        return Verification(True, "empty batch")
    return Verification(ok, f"batch of {len(items)} passed" if ok else f"batch of {len(items)} failed")


def _batch_c(key: PreparedKey, items: Sequence[tuple[Any, Any]], threads: int | None) -> bool:
    """verify_batch on the C engine in one call: pack_batch's syntax check, then the points'
    tests and the pairing on all cores (one thread start). The weights are the r_i above, a_i
    made odd in C, from the operating system's CSPRNG. A fault pack_batch or the point tests
    find is named by parse_batch, which parses in order (so the first fault, as always)."""
    batch, status = pack_batch(items, key.n_public), None
    if batch is None:  # a fault, or values of other types that parse (a list subclass): the parser's way
        batch = _packed(parse_batch(items, key.n_public, threads))  # raises the first fault's InputError
    else:
        status = ctypes.create_string_buffer(batch.n or 1)
    if not batch.n:
        return True
    rc = _c_verify(key, batch, secrets.token_bytes(16 * batch.n), threads, status)
    if rc == -4:
        parse_batch(items, key.n_public, threads)
        raise ArithmeticError("the C engine refused a point that groth16_format accepts")  # a bug
    return rc == 1


def _batch_python(key: PreparedKey, parsed: Sequence[tuple[list[int], Proof]], rs: Sequence[int]) -> bool:
    combined_pub = [sum(r * pub[j] for r, (pub, _) in zip(rs, parsed, strict=True)) % R for j in range(key.n_public)]
    vk_x = key.vk_x(combined_pub, ic0_times=sum(rs) % R)
    c_sum = _INF1
    pairs: list[tuple[LinePlan, G1Point]] = []
    for r, (_, proof) in zip(rs, parsed, strict=True):
        pairs.append((plan(g2_point(proof.b)), neg(_g1_obj(_mul1((proof.a.x, proof.a.y, 1), r)))))
        c_sum = _add1(c_sum, _mul1((proof.c.x, proof.c.y, 1), r))
    pairs += [(key.gamma, vk_x), (key.delta, _g1_obj(c_sum))]
    f = _miller(pairs) * key.alpha_beta ** (sum(rs) % R)
    return bool(final_exponentiation(f) == FQ12.one())
