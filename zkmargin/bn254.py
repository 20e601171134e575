"""BN254 points on plain integers: Fp2 arithmetic, the curve equations, G2 membership, and the
pairing constants the Python and C engines share (derived from py_ecc, checked at import).

py_ecc's field classes cost about ten times more per operation than int pairs, and these are
on the hot path of parsing (every proof's B is tested for G2 membership) and of the Python
Miller loop (groth16_fast).
"""

from __future__ import annotations

from functools import lru_cache

from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import optimized_curve as oc
from py_ecc.optimized_bn128.optimized_pairing import field_modulus, pseudo_binary_encoding

from .field import Q, R

F2 = tuple[int, int]  # c0 + c1*i with i^2 = -1; snarkjs writes Fp2 elements as [c0, c1]
P2 = tuple[F2, F2, F2]  # homogeneous projective (x = X/Z, y = Y/Z), as py_ecc's optimized_curve
INF2: P2 = ((1, 0), (1, 0), (0, 0))


def f2_mul(a: F2, b: F2) -> F2:
    t0, t1 = a[0] * b[0], a[1] * b[1]
    return ((t0 - t1) % Q, ((a[0] + a[1]) * (b[0] + b[1]) - t0 - t1) % Q)


def f2_add(a: F2, b: F2) -> F2:
    return ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q)


def f2_sub(a: F2, b: F2) -> F2:
    return ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q)


def f2_scale(c: int, a: F2) -> F2:
    return (c * a[0] % Q, c * a[1] % Q)


def f2_conj(a: F2) -> F2:
    return (a[0], -a[1] % Q)


def g2_dbl(p: P2) -> P2:
    x, y, z = p
    w = f2_scale(3, f2_mul(x, x))
    s = f2_mul(y, z)
    b = f2_mul(f2_mul(x, y), s)
    h = f2_sub(f2_mul(w, w), f2_scale(8, b))
    s2 = f2_mul(s, s)
    return (
        f2_scale(2, f2_mul(h, s)),
        f2_sub(f2_mul(w, f2_sub(f2_scale(4, b), h)), f2_scale(8, f2_mul(f2_mul(y, y), s2))),
        f2_scale(8, f2_mul(s, s2)),
    )


def g2_add(p1: P2, p2: P2) -> P2:
    if p1[2] == (0, 0):
        return p2
    if p2[2] == (0, 0):
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    u1, u2 = f2_mul(y2, z1), f2_mul(y1, z2)
    v1, v2 = f2_mul(x2, z1), f2_mul(x1, z2)
    if v1 == v2:
        return g2_dbl(p1) if u1 == u2 else INF2
    u, v = f2_sub(u1, u2), f2_sub(v1, v2)
    v_sq = f2_mul(v, v)
    v_sq_v2 = f2_mul(v_sq, v2)
    v_cu = f2_mul(v, v_sq)
    w = f2_mul(z1, z2)
    a = f2_sub(f2_sub(f2_mul(f2_mul(u, u), w), v_cu), f2_scale(2, v_sq_v2))
    return (f2_mul(v, a), f2_sub(f2_mul(u, f2_sub(v_sq_v2, a)), f2_mul(v_cu, u2)), f2_mul(v_cu, w))


def g2_mul(p: P2, n: int) -> P2:
    acc = INF2
    for bit in bin(n)[2:]:
        acc = g2_dbl(acc)
        if bit == "1":
            acc = g2_add(acc, p)
    return acc


def _f2(e: FQ2) -> F2:
    return (int(e.coeffs[0]), int(e.coeffs[1]))


# --- constants, each derived here rather than transcribed ---
B1 = 3  # G1: y^2 = x^3 + 3
B2: F2 = _f2(oc.b2)  # the twist: y^2 = x^3 + 3/(9 + i)
XI = FQ2([9, 1])
PSI_X: F2 = _f2(XI ** ((Q - 1) // 3))  # psi(x, y) = (conj(x) PSI_X, conj(y) PSI_Y): untwist, Frobenius, twist
PSI_Y: F2 = _f2(XI ** ((Q - 1) // 2))
BN_X = 4965661367192848881  # the curve parameter x
LOOP = pseudo_binary_encoding[63::-1]  # 6x + 2 in signed binary, most significant first, leading 1 dropped


def _hard_digits() -> tuple[int, ...]:
    """(p^4 - p^2 + 1) / r, the hard part of the final exponentiation, in base p."""
    d = (Q**4 - Q**2 + 1) // R
    out = []
    for _ in range(4):
        d, rem = divmod(d, Q)
        out.append(rem)
    assert d == 0
    return tuple(out)


HARD_DIGITS = _hard_digits()


@lru_cache(maxsize=1)
def frobenius_table() -> tuple[FQ12, ...]:
    """w^(p*i) for i < 12: (sum c_i w^i)^p = sum c_i w^(p*i), since every c_i is in Fp."""
    wp = FQ12([0, 1] + [0] * 10) ** field_modulus
    out = [FQ12.one()]
    for _ in range(11):
        out.append(out[-1] * wp)
    return tuple(out)


@lru_cache(maxsize=1)
def tower_frobenius() -> tuple[F2, ...]:
    """f^(p^e) on the tower Fp12 = Fp2[w]/(w^6 - XI) of the C engine maps c_k w^k to
    c_k' XI^(k(p^e - 1)/6) w^k (c_k' = conj(c_k) for odd e): those 18 constants for e = 1, 2, 3
    and k < 6, in that order (50 ms of py_ecc powers, so computed when the C engine first needs them)."""
    return tuple(_f2(XI ** (k * (Q**e - 1) // 6)) for e in (1, 2, 3) for k in range(6))


@lru_cache(maxsize=1)
def glv() -> tuple[int, int]:
    """(beta, lambda): phi(x, y) = (beta x, y) is the multiplication by lambda on G1 (beta and
    lambda cube roots of unity mod q and r; which pairs with which is checked on the generator).
    The C verifier weights a batch's A points by r = a + b lambda with 64-bit a, b: a A + b phi(A)
    takes half the doublings of a 128-bit r A, and a + b lambda mod r takes 2^128 distinct
    values (the lattice of (a, b) with a + b lambda = 0 mod r has no nonzero vector shorter than
    about 2^127)."""

    def cube_root(m: int) -> int:
        return next(c for c in (pow(g, (m - 1) // 3, m) for g in range(2, 64)) if c != 1)

    g = oc.G1
    for beta in (cube_root(Q), cube_root(Q) ** 2 % Q):
        for lam in (cube_root(R), cube_root(R) ** 2 % R):
            if oc.eq((g[0] * beta, g[1], g[2]), oc.multiply(g, lam)):
                return beta, lam
    raise ImportError("no cube roots of unity give G1's endomorphism")  # pragma: no cover


def on_g1(x: int, y: int) -> bool:
    """(x, y) is on the BN254 curve (G1 has cofactor 1: on the curve is in the group)."""
    return (y * y - x * x * x - B1) % Q == 0


def on_twist(x: F2, y: F2) -> bool:
    """(x, y) is on the twist E'(Fp2), which is larger than G2 (see in_g2)."""
    return f2_mul(y, y) == f2_add(f2_mul(f2_mul(x, x), x), B2)


def _psi(p: P2) -> P2:
    x, y, z = p
    return (f2_mul(f2_conj(x), PSI_X), f2_mul(f2_conj(y), PSI_Y), f2_conj(z))


def _eq(a: P2, b: P2) -> bool:
    if a[2] == (0, 0) or b[2] == (0, 0):
        return a[2] == b[2]
    return f2_mul(a[0], b[2]) == f2_mul(b[0], a[2]) and f2_mul(a[1], b[2]) == f2_mul(b[1], a[2])


def in_g2(x: F2, y: F2) -> bool:
    """G2 membership of a point on the twist: [x+1]Q + psi([x]Q) + psi^2([x]Q) == psi^3([2x]Q)
    (Scott, 'A note on group membership tests', 2021): one 63-bit multiplication instead of
    [r]Q == 0. The C library runs the same test (native.g2_in_subgroup); tests hold both to [r]Q."""
    q: P2 = (x, y, (1, 0))
    xq = g2_mul(q, BN_X)
    lhs = g2_add(g2_add(g2_add(xq, q), _psi(xq)), _psi(_psi(xq)))
    return _eq(lhs, _psi(_psi(_psi(g2_dbl(xq)))))


def _check_constants() -> None:
    """py_ecc's constants must be zkmargin's, and the generators on their curves, in their groups."""
    if oc.curve_order != R or field_modulus != Q:
        raise ImportError("py_ecc's BN254 constants differ from zkmargin.field")
    g1 = oc.normalize(oc.G1)
    g2 = oc.normalize(oc.G2)
    gx, gy = _f2(g2[0]), _f2(g2[1])
    if not (on_g1(int(g1[0]), int(g1[1])) and on_twist(gx, gy) and in_g2(gx, gy)):
        raise ImportError("BN254 generators fail zkmargin.bn254's curve checks")
    if sum(v * 2**i for i, v in enumerate(reversed(LOOP))) + 2 ** len(LOOP) != 6 * BN_X + 2:
        raise ImportError("Miller loop digits are not 6x + 2")


_check_constants()
