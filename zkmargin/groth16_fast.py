"""Faster native Groth16 verification (same answers as groth16.verify, the py_ecc reference).

Two engines with the same answers: "c", zkmargin/native/pairing.c (64-bit Montgomery arithmetic,
a tower Fp12, a cyclotomic final exponentiation, a per-key precomputation in PreparedKey.c_prepared;
the default when a C compiler builds it), and "python", below, where the C code started and
which remains the fallback. Python parses and range-checks every input either way.
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
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_curve import add, is_inf, neg, normalize, twist
from py_ecc.optimized_bn128.optimized_pairing import field_modulus, linefunc, pseudo_binary_encoding

from . import groth16, native
from .field import Q, R
from .groth16 import G1Point, G2Point, Verification, _Invalid

Line = tuple[FQ12, FQ12, FQ12, FQ12]  # num(P) = x*A + y*B + C, and den
_LOOP = pseudo_binary_encoding[63::-1]


# --- Fp2 = Fp[i]/(i^2 + 1) on plain int pairs: py_ecc's classes cost ~10x more per operation,
# and G2 doublings/additions dominate batch verification.
F2 = tuple[int, int]


def _m(a: F2, b: F2) -> F2:
    t0, t1 = a[0] * b[0], a[1] * b[1]
    return ((t0 - t1) % Q, ((a[0] + a[1]) * (b[0] + b[1]) - t0 - t1) % Q)


def _s(a: F2, b: F2) -> F2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def _k(c: int, a: F2) -> F2:
    return (c * a[0] % Q, c * a[1] % Q)


P2 = tuple[F2, F2, F2]  # homogeneous projective, as py_ecc's optimized_curve


def _dbl(p: P2) -> P2:
    x, y, z = p
    w = _k(3, _m(x, x))
    s = _m(y, z)
    b = _m(_m(x, y), s)
    h = _s(_m(w, w), _k(8, b))
    s2 = _m(s, s)
    return (_k(2, _m(h, s)), _s(_m(w, _s(_k(4, b), h)), _k(8, _m(_m(y, y), s2))), _k(8, _m(s, s2)))


def _add(p1: P2, p2: P2) -> P2:
    if p1[2] == (0, 0):
        return p2
    if p2[2] == (0, 0):
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    u1, u2 = _m(y2, z1), _m(y1, z2)
    v1, v2 = _m(x2, z1), _m(x1, z2)
    if v1 == v2:
        return _dbl(p1) if u1 == u2 else ((1, 0), (1, 0), (0, 0))
    u, v = _s(u1, u2), _s(v1, v2)
    v_sq = _m(v, v)
    v_sq_v2 = _m(v_sq, v2)
    v_cu = _m(v, v_sq)
    w = _m(z1, z2)
    a = _s(_s(_m(_m(u, u), w), v_cu), _k(2, v_sq_v2))
    return (_m(v, a), _s(_m(u, _s(v_sq_v2, a)), _m(v_cu, u2)), _m(v_cu, w))


def _mul(p: P2, n: int) -> P2:
    acc: P2 = ((1, 0), (1, 0), (0, 0))
    for bit in bin(n)[2:]:
        acc = _dbl(acc)
        if bit == "1":
            acc = _add(acc, p)
    return acc


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
            return (_embed(_m(mn, z1), 3), _embed(_s(zero, _m(md, z1)), 2),
                    _embed(_s(_m(md, y1), _m(mn, x1)), 5), _embed(_m(md, z1), 2))
        if mn != zero:  # vertical line
            return (_embed(z1, 0), FQ12.zero(), _embed(_s(zero, x1), 2), _embed(z1, 0))
    mn = _k(3, _m(x1, x1))  # tangent: scaled by w^4
    md = _k(2, _m(y1, z1))  # scaled by w^3
    return (_embed(_m(mn, z1), 4), _embed(_s(zero, _m(md, z1)), 3),
            _embed(_s(_m(md, y1), _m(mn, x1)), 6), _embed(_m(md, z1), 3))


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


BN_X = 4965661367192848881  # the BN254 curve parameter


def in_g2(q: G2Point) -> bool:
    """G2 membership on the twist: [x+1]Q + psi([x]Q) + psi^2([x]Q) == psi^3([2x]Q), with psi the
    untwist-Frobenius-twist endomorphism (Scott, 'A note on group membership tests', 2021).
    One 63-bit multiplication instead of a 254-bit one; tests compare it with [r]Q == 0."""
    qi = _ints(q)
    xqi = _mul(qi, BN_X)
    xq = _obj(xqi)
    t = twist(xq)
    lhs = add(add(twist(_obj(_add(xqi, qi))), _pi(t, 1)), _pi(t, 2))
    rhs = _pi(twist(_obj(_dbl(xqi))), 3)
    if is_inf(lhs) or is_inf(rhs):
        return is_inf(lhs) and is_inf(rhs)
    return bool(lhs[0] * rhs[2] == rhs[0] * lhs[2] and lhs[1] * rhs[2] == rhs[1] * lhs[2])


def _pi(t: tuple[FQ12, FQ12, FQ12], k: int) -> tuple[FQ12, FQ12, FQ12]:
    return (frobenius(t[0], k), frobenius(t[1], k), frobenius(t[2], k))


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


@lru_cache(maxsize=1)
def _frob_table() -> tuple[FQ12, ...]:
    wp = FQ12([0, 1] + [0] * 10) ** field_modulus
    out = [FQ12.one()]
    for _ in range(11):
        out.append(out[-1] * wp)
    return tuple(out)


def frobenius(f: FQ12, k: int = 1) -> FQ12:
    """f^(p^k): coefficients are in Fp, so (sum c_i w^i)^p = sum c_i (w^p)^i."""
    table = _frob_table()
    for _ in range(k):
        acc = FQ12.zero()
        for c, t in zip(f.coeffs, table):
            if int(c):
                acc = acc + t * int(c)
        f = acc
    return f


def _hard_digits() -> list[int]:
    d = (Q**4 - Q**2 + 1) // R
    out = []
    for _ in range(4):
        d, rem = divmod(d, Q)
        out.append(rem)
    assert d == 0
    return out


_DIGITS = _hard_digits()


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
    """A parsed, checked verification key; the pure-Python precomputation is made on first use."""

    def __init__(self, vkey: Any) -> None:
        try:
            if not isinstance(vkey, dict) or vkey.get("protocol") != "groth16" or vkey.get("curve") != "bn128":
                raise _Invalid("verification key is not a snarkjs groth16/bn128 key")
            ic = vkey.get("IC")
            if not isinstance(ic, list) or not ic:
                raise _Invalid("verification key has no IC points")
            self.alpha = groth16.g1(vkey.get("vk_alpha_1"), "vk_alpha_1")
            self.beta = groth16.g2(vkey.get("vk_beta_2"), "vk_beta_2", in_g2)
            self.gamma2 = groth16.g2(vkey.get("vk_gamma_2"), "vk_gamma_2", in_g2)
            self.delta2 = groth16.g2(vkey.get("vk_delta_2"), "vk_delta_2", in_g2)
            self.ic = [groth16.g1(p, f"IC[{i}]") for i, p in enumerate(ic)]
        except _Invalid as e:
            self.error: str | None = str(e)
            return
        self.error = None
        # the compiled verifier's layout: alpha1, beta2, gamma2, delta2, IC[0..n]
        self.blob = b"".join([_g1_blob(self.alpha), *(_g2_blob(q) for q in (self.beta, self.gamma2, self.delta2)),
                              *(_g1_blob(p) for p in self.ic)])

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    @cached_property
    def c_prepared(self) -> ctypes.Array[ctypes.c_char]:
        """The compiled verifier's precomputation (zkm_groth16_prepare): the lines of beta, gamma
        and delta, the Miller value of (alpha, beta), a table of multiples of the IC points."""
        lib = native.library()
        out = ctypes.create_string_buffer(lib.zkm_groth16_prepared_size(self.n_public))
        rc = lib.zkm_groth16_prepare(self.n_public, self.blob, _ctx(), out)
        if rc:
            raise ArithmeticError(f"native verifier could not prepare the key (code {rc})")
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
        for s, t in zip(public, self.tables):
            if s:
                acc = _add1(acc, t.mul(s))
        return _g1_obj(acc)


def _g1_blob(p: G1Point) -> bytes:
    """64 bytes, x then y, little-endian standard form; all zero for infinity."""
    if is_inf(p):
        return bytes(64)
    x, y = normalize(p)
    return int(x).to_bytes(32, "little") + int(y).to_bytes(32, "little")


def _g2_blob(p: G2Point) -> bytes:
    if is_inf(p):
        return bytes(128)
    x, y = normalize(p)
    return b"".join(int(c).to_bytes(32, "little") for c in (*x.coeffs, *y.coeffs))


Engine = Literal["auto", "c", "python"]  # "auto": c when the library builds, else python


def _engine(engine: Engine) -> str:
    if engine not in ("auto", "c", "python"):
        raise ValueError(f"engine must be auto, c or python, not {engine!r}")
    if engine == "auto":
        return "c" if native.available() else "python"
    return engine


def _public(key: PreparedKey, public_signals: Any, proof: Any) -> list[int]:
    if key.error is not None:
        raise _Invalid(key.error)
    if not isinstance(proof, dict):
        raise _Invalid("proof is not an object")
    if not isinstance(public_signals, list):
        raise _Invalid("public signals are not a list")
    if len(public_signals) != key.n_public:
        raise _Invalid(f"{len(public_signals)} public signals, the key expects {key.n_public}")
    pub = [groth16._int(s, f"public signal {i}") for i, s in enumerate(public_signals)]
    for i, s in enumerate(pub):
        if not 0 <= s < R:
            raise _Invalid(f"public signal {i} is not < r (scalar field)")
    return pub


def _parse(key: PreparedKey, public_signals: Any, proof: Any) -> tuple[list[int], G1Point, G2Point, G1Point]:
    """For the Python engine: public signals and py_ecc points, every check done here."""
    pub = _public(key, public_signals, proof)
    b = groth16.g2(proof.get("pi_b"), "pi_b", in_g2)
    return pub, groth16.g1(proof.get("pi_a"), "pi_a"), b, groth16.g1(proof.get("pi_c"), "pi_c")


def _affine(v: Any, what: str, width: int) -> list[int]:
    """Canonical coordinates of an affine point (z = 1), or [] for infinity (z = 0)."""
    if width == 1:
        x, y, z = (groth16._coord(c, what) for c in groth16._list(v, 3, what))
        coords, zs = [x, y], [z]
    else:
        x2, y2, z2 = ([groth16._coord(c, what) for c in groth16._list(pair, 2, what)] for pair in groth16._list(v, 3, what))
        coords, zs = [*x2, *y2], z2
    if zs == [0] * width:
        return []  # snarkjs writes infinity with z = 0
    if zs != [1] + [0] * (width - 1):
        raise _Invalid(f"{what} is not in affine form (z = 1)")
    return coords


def _blob(coords: list[int], width: int) -> bytes:
    return b"".join(c.to_bytes(32, "little") for c in coords) if coords else bytes(64 * width)


def _parse_c(key: PreparedKey, public_signals: Any, proof: Any) -> tuple[list[int], bytes]:
    """For the C engine: public signals and the proof's 256-byte blob; the C side checks that the
    points are on their curves and pi_b in G2 (its codes name which, see _C_POINTS)."""
    pub = _public(key, public_signals, proof)
    a, b, c = (_affine(proof.get(k), k, w) for k, w in (("pi_a", 1), ("pi_b", 2), ("pi_c", 1)))
    return pub, _blob(a, 1) + _blob(b, 2) + _blob(c, 1)


_C_POINTS = ("pi_a is not on the BN254 curve", "pi_b is not on the BN254 twist", "pi_b is not in the G2 subgroup",
             "pi_c is not on the BN254 curve")


@lru_cache(maxsize=1)
def _ctx() -> bytes:
    """The constants of zkmargin/native/pairing.c's struct ctx, derived here from py_ecc."""
    def mont(x: int) -> bytes:
        return (x * (1 << 256) % Q).to_bytes(32, "little")

    def mont2(e: FQ2) -> bytes:
        return b"".join(mont(int(c)) for c in e.coeffs)

    xi = FQ2([9, 1])
    parts = [mont2(xi ** (k * (Q**e - 1) // 6)) for e in (1, 2, 3) for k in range(6)]
    parts += [mont2(xi ** ((Q - 1) // 3)), mont2(xi ** ((Q - 1) // 2)), mont2(FQ2([3, 0]) / xi), mont(3)]
    parts += [bytes(v & 0xFF for v in _LOOP), BN_X.to_bytes(8, "little")]
    return b"".join(parts)


def _c_check(key: PreparedKey, parsed: Sequence[tuple[list[int], bytes]], weights: Sequence[int],
             threads: int | None = None) -> bool | str:
    """The compiled verifier's pairing answer, or why it refused a proof before the pairing.
    By default batches of 16 and more are shared among the cores (at least 8 proofs a thread);
    one proof has too little work to share."""
    n = len(parsed)
    if threads is None:
        threads = min(os.cpu_count() or 1, n // 8) if n >= 16 else 1
    publics = b"".join(v.to_bytes(32, "little") for pub, _ in parsed for v in pub)
    ws = b"".join(w.to_bytes(32, "little") for w in weights)
    rc = native.library().zkm_groth16_verify(n, key.n_public, key.c_prepared, b"".join(blob for _, blob in parsed),
                                             publics, ws, max(1, threads), _ctx())
    if rc <= -10:
        i, k = divmod(-rc - 10, 4)
        return f"proof {i}: {_C_POINTS[k]}" if n > 1 else _C_POINTS[k]
    if rc < 0:
        raise ArithmeticError(f"native verifier failed internally (code {rc})")  # a bug, never bad input
    return bool(rc == 1)


def verify(key: PreparedKey, public_signals: Any, proof: Any, engine: Engine = "auto") -> Verification:
    """One proof against a prepared key; never raises on malformed input."""
    try:
        if _engine(engine) == "c":
            out = _c_check(key, [_parse_c(key, public_signals, proof)], [1])
            if isinstance(out, str):
                return Verification(False, out)
            ok = out
        else:
            pub, a, b, c = _parse(key, public_signals, proof)
            f = _miller([(plan(b), neg(a)), (key.gamma, key.vk_x(pub)), (key.delta, c)]) * key.alpha_beta
            ok = final_exponentiation(f) == FQ12.one()
    except _Invalid as e:
        return Verification(False, str(e))
    return Verification(ok, "pairing check passed" if ok else "pairing check failed")


def verify_batch(key: PreparedKey, items: Sequence[tuple[Any, Any]], engine: Engine = "auto",
                 threads: int | None = None) -> Verification:
    """All (public_signals, proof) pairs at once: valid only if every proof is valid.
    threads: how many cores the C engine uses (default: all, for batches of 16 or more).

    With random 128-bit r_i, checks prod e(-r_i A_i, B_i) * e(alpha, beta)^(sum r_i)
    * e(sum r_i vk_x_i, gamma) * e(sum r_i C_i, delta) == 1; a batch containing an invalid
    proof passes with probability about 2^-128. Find the culprit with verify()."""
    if not items:
        return Verification(True, "empty batch")
    use_c = _engine(engine) == "c"
    parse = _parse_c if use_c else _parse
    parsed: list[Any] = []
    for i, (public, proof) in enumerate(items):
        try:
            parsed.append(parse(key, public, proof))
        except _Invalid as e:
            return Verification(False, f"proof {i}: {e}")
    rs = [secrets.randbits(128) | 1 for _ in parsed]
    if use_c:
        out = _c_check(key, parsed, rs, threads)
        if isinstance(out, str):
            return Verification(False, out)
        ok = out
    else:
        ok = _batch_python(key, parsed, rs)
    return Verification(ok, f"batch of {len(items)} passed" if ok else f"batch of {len(items)} failed")


def _batch_python(key: PreparedKey, parsed: Sequence[tuple[list[int], G1Point, G2Point, G1Point]],
                  rs: Sequence[int]) -> bool:
    combined_pub = [sum(r * pub[j] for r, (pub, _, _, _) in zip(rs, parsed)) % R for j in range(key.n_public)]
    vk_x = key.vk_x(combined_pub, ic0_times=sum(rs) % R)
    c_sum = _INF1
    pairs: list[tuple[LinePlan, G1Point]] = []
    for r, (_, a, b, c) in zip(rs, parsed):
        pairs.append((plan(b), neg(_g1_obj(_mul1(_g1_ints(a), r)))))
        c_sum = _add1(c_sum, _mul1(_g1_ints(c), r))
    pairs += [(key.gamma, vk_x), (key.delta, _g1_obj(c_sum))]
    f = _miller(pairs) * key.alpha_beta ** (sum(rs) % R)
    return bool(final_exponentiation(f) == FQ12.one())
