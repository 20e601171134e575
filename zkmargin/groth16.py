"""Groth16 verification over BN254 with py_ecc's plain pairing: the reference backend, which the
faster engines (groth16_fast) are held to.

The inputs are parsed by groth16_format (InputError when malformed: canonical coordinates,
affine points on their curves, B in G2, nPublic signals each < r). Then one multi-Miller loop
over the four pairs of
  e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
and a single final exponentiation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_curve import add, double, is_inf, multiply, neg, twist
from py_ecc.optimized_bn128.optimized_pairing import (
    cast_point_to_fq12,
    field_modulus,
    final_exponentiate,
    linefunc,
    pseudo_binary_encoding,
)

from .groth16_format import G1Affine, G2Affine, parse_inputs

G1Point = tuple[FQ, FQ, FQ]
G2Point = tuple[FQ2, FQ2, FQ2]


@dataclass(frozen=True)
class Verification:
    """valid or not, and why. The verification backends return one only for well-formed input:
    a malformed key, signal or proof raises InputError (groth16_format) instead."""

    valid: bool
    reason: str

    def __bool__(self) -> bool:
        return self.valid


def g1_point(p: G1Affine) -> G1Point:
    return (FQ(p.x), FQ(p.y), FQ.one())


def g2_point(p: G2Affine) -> G2Point:
    return (FQ2(list(p.x)), FQ2(list(p.y)), FQ2.one())


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
    """Verify a snarkjs Groth16 proof. InputError if the key, the signals or the proof is
    malformed (groth16_format); otherwise the pairing check's answer."""
    key, pub, pr = parse_inputs(vkey, public_signals, proof)
    vk_x = g1_point(key.ic[0])
    for s, point in zip(pub, key.ic[1:], strict=True):
        if s:
            vk_x = add(vk_x, multiply(g1_point(point), s))
    ok = multi_pairing_is_one(
        [
            (neg(g1_point(pr.a)), g2_point(pr.b)),
            (g1_point(key.alpha), g2_point(key.beta)),
            (vk_x, g2_point(key.gamma)),
            (g1_point(pr.c), g2_point(key.delta)),
        ]
    )
    return Verification(ok, "pairing check passed" if ok else "pairing check failed")
