"""Notes of the private margin pool: a position in Aave scaled balances, owned by a spending key.

A pool has N reserves (slot i = reserve i). A note is

    scaledCollateral[N], scaledDebt[N]   Aave scaled balances (amount / index), each < 2^128
    collateralFlags                      "use as collateral" bitmap, < 2^N (bit i = reserve i)
    ownerTag = Poseidon(DOMAIN_OWNER, sk)   sk: the owner's spending key, a field element
    salt                                 a uniformly random field element
    viewingKey = V = v Base8             the owner's viewing public key (zkmargin.pool.keys)

    commitment = Poseidon(DOMAIN_NOTE, ownerTag, salt, collateralFlags,
                          scaledCollateral[0..N-1], scaledDebt[0..N-1], Vx, Vy)
    nullifier  = Poseidon(DOMAIN_NULLIFIER, commitment, salt)

One Poseidon call over 6 + 2N inputs (circomlib takes at most 16), so N <= 5. The nullifier needs
the opening, not sk: whoever holds the opening (the owner; the keepers of issue #15) can compute
it, while owner operations also prove knowledge of sk. V is committed so that every successor,
a liquidation's included, is sealed to the same owner key (zkmargin.pool.sealing). Mirrors
circuits/lib/pool.circom and note_seal.circom.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ..errors import InputError
from ..field import R
from ..limits import AMOUNT_BITS
from ..poseidon import poseidon
from . import babyjub
from .babyjub import Point

# Domain tags, derived like the project's other tags (zkmargin.commitment.LENDING_TAG)
DOMAIN_NOTE: Final = int.from_bytes(b"zkmargin/pool/note/v2", "big")  # v2: the viewing key joined the note
DOMAIN_OWNER: Final = int.from_bytes(b"zkmargin/pool/owner/v1", "big")
DOMAIN_NULLIFIER: Final = int.from_bytes(b"zkmargin/pool/nullifier/v1", "big")
#: reserves a note can hold: one Poseidon over 6 + 2N inputs
MAX_RESERVES: Final = 5


def owner_tag(sk: int) -> int:
    """Poseidon(DOMAIN_OWNER, sk): what a note stores of its owner's spending key."""
    _field("sk", sk)
    return poseidon([DOMAIN_OWNER, sk])


def new_secret() -> int:
    """A uniformly random field element from the OS CSPRNG (a spending key or a salt)."""
    return secrets.randbelow(R)


def _field(name: str, v: int) -> None:
    if not 0 <= v < R:
        raise InputError(name, "must be a field element (0 <= v < r)")


@dataclass(frozen=True)
class Note:
    """The private opening of a note; `commitment` is its leaf in the pool's tree."""

    scaled_collateral: tuple[int, ...]
    scaled_debt: tuple[int, ...]
    collateral_flags: int
    owner_tag: int
    salt: int
    viewing_key: Point

    def __post_init__(self) -> None:
        n = len(self.scaled_collateral)
        if not 1 <= n <= MAX_RESERVES or len(self.scaled_debt) != n:
            raise InputError("note", f"needs N collateral and N debt balances, 1 <= N <= {MAX_RESERVES}")
        for kind, book in (("scaledCollateral", self.scaled_collateral), ("scaledDebt", self.scaled_debt)):
            for i, v in enumerate(book):
                if not 0 <= v < 2**AMOUNT_BITS:
                    raise InputError(f"{kind}[{i}]", f"must be in [0, 2^{AMOUNT_BITS})")
        if not 0 <= self.collateral_flags < 2**n:
            raise InputError("collateralFlags", f"must be in [0, 2^{n}) (one bit per reserve)")
        _field("ownerTag", self.owner_tag)
        _field("salt", self.salt)
        # on the curve, as the circuit checks (BabyCheck); not the subgroup check of a key taken
        # from outside: whatever V a note committed to, its successor is sealed to it again (a
        # keeper liquidating a note whose owner chose a small-order V must not be stuck)
        key = self.viewing_key
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or not all(isinstance(c, int) and 0 <= c < R for c in key)
            or not babyjub.is_on_curve(key)
        ):
            raise InputError("viewingKey", "must be a Baby Jubjub point (two field elements on the curve)")

    @property
    def n_reserves(self) -> int:
        return len(self.scaled_collateral)

    @classmethod
    def empty(cls, n: int, owner: int, salt: int, viewing_key: Point) -> Note:
        return cls((0,) * n, (0,) * n, 0, owner, salt, viewing_key)

    def flag(self, i: int) -> bool:
        return (self.collateral_flags >> i) & 1 == 1

    def fields(self) -> list[int]:
        """The commitment's Poseidon inputs after the domain tag, in order: also the message
        sealed to the owner and the keepers (2N + 5 elements)."""
        return [
            self.owner_tag,
            self.salt,
            self.collateral_flags,
            *self.scaled_collateral,
            *self.scaled_debt,
            *self.viewing_key,
        ]

    @classmethod
    def from_fields(cls, fields: Sequence[int]) -> Note:
        """The note whose fields() these are (InputError if they are not a note's)."""
        if len(fields) < 7 or (len(fields) - 5) % 2:
            raise InputError("opening", f"a note's opening has 2N + 5 elements, got {len(fields)}")
        n = (len(fields) - 5) // 2
        return cls(
            tuple(fields[3 : 3 + n]),
            tuple(fields[3 + n : 3 + 2 * n]),
            fields[2],
            fields[0],
            fields[1],
            (fields[3 + 2 * n], fields[4 + 2 * n]),
        )

    @property
    def commitment(self) -> int:
        return poseidon([DOMAIN_NOTE, *self.fields()])

    @property
    def nullifier(self) -> int:
        return nullifier(self.commitment, self.salt)

    def with_salt(self, salt: int) -> Note:
        return replace(self, salt=salt)


def nullifier(commitment: int, salt: int) -> int:
    """Poseidon(DOMAIN_NULLIFIER, commitment, salt)."""
    return poseidon([DOMAIN_NULLIFIER, commitment, salt])
