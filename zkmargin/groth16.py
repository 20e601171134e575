"""Native Groth16 verification over BN254 with py_ecc (snarkjs proof and key formats).

Checks, in order: the proof and key have the snarkjs shape; every coordinate is a
canonical base-field element; points are on their curves (and G2 points in the
prime-order subgroup; G1 has cofactor 1); the number of public inputs equals
len(IC) - 1 and each is < r. Then one multi-Miller loop over the four pairs of
  e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
and a single final exponentiation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_curve import (
    add,
    b,
    b2,
    curve_order,
    double,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    twist,
)
from py_ecc.optimized_bn128.optimized_pairing import (
    cast_point_to_fq12,
    final_exponentiate,
    field_modulus,
    linefunc,
    pseudo_binary_encoding,
)

from .field import Q, R

G1Point = tuple[FQ, FQ, FQ]
G2Point = tuple[FQ2, FQ2, FQ2]

assert curve_order == R and field_modulus == Q, "py_ecc BN254 constants differ from zkmargin's"


class _Invalid(Exception):
    pass


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str

    def __bool__(self) -> bool:
        return self.valid


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise _Invalid(f"{what} is not an integer")
    if isinstance(v, str):
        if not (v.isascii() and v.isdigit()) or len(v) > 80:  # "²".isdigit() is True
            raise _Invalid(f"{what} is not a decimal integer")
        return int(v)
    return int(v)


def _coord(v: Any, what: str) -> int:
    n = _int(v, what)
    if not 0 <= n < Q:
        raise _Invalid(f"{what} is not a canonical base-field element")
    return n


def _list(v: Any, n: int, what: str) -> list[Any]:
    if not isinstance(v, list) or len(v) != n:
        raise _Invalid(f"{what} must be a list of {n}")
    return v


def g1(v: Any, what: str) -> G1Point:
    x, y, z = (_coord(c, what) for c in _list(v, 3, what))
    if z == 0:
        return (FQ(1), FQ(1), FQ(0))  # snarkjs writes infinity as [0, 1, 0]
    if z != 1:
        raise _Invalid(f"{what} is not in affine form (z = 1)")
    p = (FQ(x), FQ(y), FQ(1))
    if not is_on_curve(p, b):
        raise _Invalid(f"{what} is not on the BN254 curve")
    return p


def g2(v: Any, what: str, subgroup_check: Callable[[G2Point], bool] | None = None) -> G2Point:
    x, y, z = ([_coord(c, what) for c in _list(pair, 2, what)] for pair in _list(v, 3, what))
    if z == [0, 0]:
        return (FQ2.one(), FQ2.one(), FQ2.zero())
    if z != [1, 0]:
        raise _Invalid(f"{what} is not in affine form (z = 1)")
    p = (FQ2(x), FQ2(y), FQ2.one())
    if not is_on_curve(p, b2):
        raise _Invalid(f"{what} is not on the BN254 twist")
    in_g2 = subgroup_check(p) if subgroup_check else is_inf(multiply(p, curve_order))  # the twist has a cofactor
    if not in_g2:
        raise _Invalid(f"{what} is not in the G2 subgroup")
    return p


def multi_pairing_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """prod e(P_i, Q_i) == 1 with one shared Miller loop and one final exponentiation."""
    live = [(cast_point_to_fq12(p), twist(q)) for p, q in pairs if not is_inf(p) and not is_inf(q)]
    if not live:
        return True
    rs = [q for _, q in live]
    f_num, f_den = FQ12.one(), FQ12.one()
    for v in pseudo_binary_encoding[63::-1]:
        f_num, f_den = f_num * f_num, f_den * f_den
        for i, (p, q) in enumerate(live):
            n, d = linefunc(rs[i], rs[i], p)
            f_num, f_den = f_num * n, f_den * d
            rs[i] = double(rs[i])
            if v:
                qv = q if v == 1 else neg(q)
                n, d = linefunc(rs[i], qv, p)
                f_num, f_den = f_num * n, f_den * d
                rs[i] = add(rs[i], qv)
    for i, (p, q) in enumerate(live):
        q1 = (q[0] ** field_modulus, q[1] ** field_modulus, q[2] ** field_modulus)
        nq2 = (q1[0] ** field_modulus, -(q1[1] ** field_modulus), q1[2] ** field_modulus)
        n1, d1 = linefunc(rs[i], q1, p)
        r = add(rs[i], q1)
        n2, d2 = linefunc(r, nq2, p)
        f_num, f_den = f_num * n1 * n2, f_den * d1 * d2
    return bool(final_exponentiate(f_num / f_den) == FQ12.one())


def verify(vkey: Any, public_signals: Any, proof: Any) -> Verification:
    """Verify a snarkjs Groth16 proof; never raises on malformed or hostile input."""
    try:
        if not isinstance(vkey, dict) or vkey.get("protocol") != "groth16" or vkey.get("curve") != "bn128":
            raise _Invalid("verification key is not a snarkjs groth16/bn128 key")
        if not isinstance(proof, dict):
            raise _Invalid("proof is not an object")
        ic_raw = vkey.get("IC")
        if not isinstance(ic_raw, list) or len(ic_raw) < 1:
            raise _Invalid("verification key has no IC points")
        if not isinstance(public_signals, list):
            raise _Invalid("public signals are not a list")
        if len(public_signals) != len(ic_raw) - 1:
            raise _Invalid(f"{len(public_signals)} public signals, the key expects {len(ic_raw) - 1}")
        pub = [_int(s, f"public signal {i}") for i, s in enumerate(public_signals)]
        for i, s in enumerate(pub):
            if not 0 <= s < R:
                raise _Invalid(f"public signal {i} is not < r (scalar field)")
        alpha = g1(vkey.get("vk_alpha_1"), "vk_alpha_1")
        beta = g2(vkey.get("vk_beta_2"), "vk_beta_2")
        gamma = g2(vkey.get("vk_gamma_2"), "vk_gamma_2")
        delta = g2(vkey.get("vk_delta_2"), "vk_delta_2")
        ic = [g1(p, f"IC[{i}]") for i, p in enumerate(ic_raw)]
        a = g1(proof.get("pi_a"), "pi_a")
        bb = g2(proof.get("pi_b"), "pi_b")
        c = g1(proof.get("pi_c"), "pi_c")
    except _Invalid as e:
        return Verification(False, str(e))
    vk_x = ic[0]
    for s, point in zip(pub, ic[1:]):
        if s:
            vk_x = add(vk_x, multiply(point, s))
    ok = multi_pairing_is_one([(neg(a), bb), (alpha, beta), (vk_x, gamma), (c, delta)])
    return Verification(ok, "pairing check passed" if ok else "pairing check failed")
