"""Baby Jubjub (EIP-2494) over BN254's scalar field, as circomlib and @zk-kit/baby-jubjub define it.

The twisted Edwards curve a x^2 + y^2 = 1 + d x^2 y^2 with a = 168700, d = 168696 over F_r
(r = BN254's scalar field, so circuits do its arithmetic natively). Its order is 8 l for a
prime l; Base8 generates the subgroup of order l, the only one keys live in.

Secret keys are raw scalars 1 <= s < l. That is the domain of zk-kit's `ecdh.circom` (the
scalar's 253 bits feed EscalarMulAny; any s < 2^253 is accepted, and l < 2^251) and also what
@zk-kit/eddsa-poseidon's `deriveSecretScalar` returns (blake-512 of a seed, pruned, shifted
right by 3, reduced mod l). zkmargin derives its scalars from a seed with its own hash
(zkmargin.pool.keys), so a scalar made by zk-kit's derivation works here unchanged, and vice
versa, but the same seed gives different scalars in the two.

Every point that comes from outside (a key file, a chain event, a contract) goes through
`validate_point`: canonical coordinates, on the curve, in the order-l subgroup and not the
identity. A small-order point would make the ECDH secret one of 8 values anyone can try.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..errors import InputError
from ..field import R

Point = tuple[int, int]

A: Final = 168700
D: Final = 168696
#: order of the prime subgroup (circomlib's `subOrder`, @zk-kit/baby-jubjub's `subOrder`)
L: Final = 2736030358979909402780800718157159386076813972158567259200215660948447373041
#: order of the whole curve, 8 l
ORDER: Final = 21888242871839275222246405745257275088614511777268538073601725287587578984328
#: generator of the order-l subgroup (8 x the curve's generator)
BASE8: Final[Point] = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
IDENTITY: Final[Point] = (0, 1)


def is_on_curve(p: Point) -> bool:
    """a x^2 + y^2 == 1 + d x^2 y^2 (mod r), for canonical coordinates only."""
    x, y = p
    if not (0 <= x < R and 0 <= y < R):
        return False
    x2, y2 = x * x % R, y * y % R
    return (A * x2 + y2) % R == (1 + D * x2 % R * y2) % R


def add(p: Point, q: Point) -> Point:
    """The twisted Edwards sum (complete on this curve: d is not a square in F_r, a is)."""
    x1, y1 = p
    x2, y2 = q
    t = D * x1 % R * x2 % R * y1 % R * y2 % R
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, R) % R
    y3 = (y1 * y2 - A * x1 * x2) * pow(1 - t, -1, R) % R
    return x3, y3


def neg(p: Point) -> Point:
    return (-p[0]) % R, p[1]


_Ext = tuple[int, int, int, int]


def _ext_add(p: _Ext, q: _Ext) -> _Ext:
    """Extended twisted Edwards coordinates (X : Y : T : Z), x = X/Z, y = Y/Z, T = XY/Z: the
    unified add-2008-hwcd formulas for any a, complete here like the affine law."""
    x1, y1, t1, z1 = p
    x2, y2, t2, z2 = q
    a = x1 * x2 % R
    b = y1 * y2 % R
    c = D * t1 % R * t2 % R
    d = z1 * z2 % R
    e = ((x1 + y1) * (x2 + y2) - a - b) % R
    f = (d - c) % R
    g = (d + c) % R
    h = (b - A * a) % R
    return e * f % R, g * h % R, e * h % R, f * g % R


def mul(p: Point, e: int) -> Point:
    """e * p for e >= 0 (double and add, most significant bit first, in extended coordinates:
    one inversion in all instead of two per addition)."""
    if e < 0:
        raise ValueError("scalar must be >= 0")
    base: _Ext = (p[0], p[1], p[0] * p[1] % R, 1)
    acc: _Ext = (0, 1, 0, 1)
    for bit in bin(e)[2:] if e else "":
        acc = _ext_add(acc, acc)
        if bit == "1":
            acc = _ext_add(acc, base)
    zi = pow(acc[3], -1, R)
    return acc[0] * zi % R, acc[1] * zi % R


def in_subgroup(p: Point) -> bool:
    """On the curve and of order dividing l (l p is the identity)."""
    return is_on_curve(p) and mul(p, L) == IDENTITY


def validate_point(value: object, field: str) -> Point:
    """A public key taken from outside, as a checked point; InputError naming `field` otherwise.

    Refuses: anything but two integers; coordinates outside [0, r); points off the curve; the
    identity and every other point outside the order-l subgroup (the small-order points
    and their sums with subgroup points), whose ECDH secrets leak."""
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str | bytes)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise InputError(field, "a Baby Jubjub point is two integers [x, y]")
    x, y = int(value[0]), int(value[1])
    for name, v in (("x", x), ("y", y)):
        if not 0 <= v < R:
            raise InputError(field, f"coordinate {name} = {v} is not a field element (0 <= v < r)")
    p = (x, y)
    if not is_on_curve(p):
        raise InputError(field, f"({x}, {y}) is not on Baby Jubjub (a x^2 + y^2 != 1 + d x^2 y^2)")
    if p == IDENTITY:
        raise InputError(field, "the identity (0, 1) is not a public key")
    if mul(p, L) != IDENTITY:
        raise InputError(
            field, f"({x}, {y}) is not in the prime-order subgroup (l P != identity): small-order component"
        )
    return p


def validate_secret(s: object, field: str) -> int:
    """A secret scalar 1 <= s < l (ecdh.circom takes any s < 2^253; keys are canonical mod l)."""
    if not isinstance(s, int) or isinstance(s, bool):
        raise InputError(field, "a secret scalar is an integer")
    if not 1 <= s < L:
        raise InputError(field, "a secret scalar must be in [1, l), l the Baby Jubjub subgroup order")
    return s


def public_key(secret: int) -> Point:
    """secret * Base8, as @zk-kit/baby-jubjub's mulPointEscalar(Base8, secret)."""
    return mul(BASE8, validate_secret(secret, "secret"))


def ecdh(secret: int, public: Point, field: str = "public key") -> Point:
    """The ECDH shared point secret * public, as zk-kit's Ecdh() computes it in-circuit; the
    public key is validated first (errors name `field`)."""
    return mul(validate_point(public, field), validate_secret(secret, "secret"))


# Constants checked at import: a typo here would silently give every key to nobody.
if not is_on_curve(BASE8) or mul(BASE8, L) != IDENTITY or BASE8 == IDENTITY:
    raise ImportError("Baby Jubjub Base8 is not a point of order l")
if ORDER != 8 * L:
    raise ImportError("Baby Jubjub order != 8 l")
