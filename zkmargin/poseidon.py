"""Poseidon over the BN254 scalar field, bit-identical to circomlib / circomlibjs.

The round constants and MDS matrices are derived here with the Grain LFSR of the
reference parameter script (generate_parameters_grain.sage, field=1, sbox=0,
n=254, R_F=8, R_P per width), the way circomlib's constants were made; tests pin
golden hashes and compare with circomlibjs run through node.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from .field import R

N_ROUNDS_F = 8
# Partial rounds for t = 2..17 (circomlib's table, from the Poseidon paper).
N_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MAX_INPUTS = len(N_ROUNDS_P)


def _bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _grain(t: int, r_f: int, r_p: int) -> Iterator[int]:
    """Self-shrinking Grain LFSR output bits seeded with the instance parameters."""
    state = _bits(1, 2) + _bits(0, 4) + _bits(254, 12) + _bits(t, 12) + _bits(r_f, 10) + _bits(r_p, 10) + [1] * 30

    def step() -> int:
        new = state[62] ^ state[51] ^ state[38] ^ state[23] ^ state[13] ^ state[0]
        del state[0]
        state.append(new)
        return new

    for _ in range(160):
        step()
    while True:
        first, second = step(), step()
        if first:
            yield second


def _random_int(bits: Iterator[int], n: int) -> int:
    v = 0
    for _ in range(n):
        v = (v << 1) | next(bits)
    return v


@cache
def constants(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(round constants, MDS matrix) for state width t, as circomlib uses them."""
    if not 2 <= t <= MAX_INPUTS + 1:
        raise ValueError(f"Poseidon width t must be in [2, {MAX_INPUTS + 1}], got {t}")
    r_p = N_ROUNDS_P[t - 2]
    bits = _grain(t, N_ROUNDS_F, r_p)
    c: list[int] = []
    for _ in range((N_ROUNDS_F + r_p) * t):
        v = _random_int(bits, 254)
        while v >= R:  # rejection sampling, as the reference script does
            v = _random_int(bits, 254)
        c.append(v)
    # Cauchy matrix 1 / (x_i + y_j); for BN254 the first draw is distinct and secure
    # for every t <= 17 (checked against circomlib's matrices in the tests).
    xy = [_random_int(bits, 254) % R for _ in range(2 * t)]
    xs, ys = xy[:t], xy[t:]
    m = tuple(tuple(pow(xs[i] + ys[j], R - 2, R) for j in range(t)) for i in range(t))
    return tuple(c), m


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib Poseidon(len(inputs)) with initial state 0; inputs are field elements."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1 to {MAX_INPUTS} inputs, got {n}")
    return poseidon_perm([0, *inputs])[0]


def poseidon_perm(state: Sequence[int]) -> list[int]:
    """The whole Poseidon permutation of a width-t state (2 <= t <= 17), every output element.

    circomlib's PoseidonEx(t - 1, t) with initialState = state[0] and inputs = state[1:];
    circomlibjs's poseidon(state[1:], state[0], t); @zk-kit/poseidon-cipher's poseidonPerm(state).
    poseidon(x) is poseidon_perm([0, *x])[0]."""
    t = len(state)
    if not 2 <= t <= MAX_INPUTS + 1:
        raise ValueError(f"the Poseidon permutation takes a state of width 2 to {MAX_INPUTS + 1}, got {t}")
    for v in state:
        if not 0 <= v < R:
            raise ValueError(f"Poseidon input {v} is not a field element (0 <= v < r)")
    c, m = constants(t)
    r_p = N_ROUNDS_P[t - 2]
    half_f = N_ROUNDS_F // 2
    s = list(state)
    for r in range(N_ROUNDS_F + r_p):
        s = [(v + c[r * t + i]) % R for i, v in enumerate(s)]
        if r < half_f or r >= half_f + r_p:
            s = [pow(v, 5, R) for v in s]
        else:
            s[0] = pow(s[0], 5, R)
        s = [sum(m[i][j] * s[j] for j in range(t)) % R for i in range(t)]
    return s
