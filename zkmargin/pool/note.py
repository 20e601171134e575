"""Notes of the private margin pool: a position in Aave scaled balances, owned by a spending key.

A pool has N reserves (slot i = reserve i). A note is

    scaledCollateral[N], scaledDebt[N]   Aave scaled balances (amount / index), each < 2^128
    collateralFlags                      "use as collateral" bitmap, < 2^N (bit i = reserve i)
    ownerTag = Poseidon(DOMAIN_OWNER, sk)   sk: the owner's spending key, a field element
    salt                                 a uniformly random field element

    commitment = Poseidon(DOMAIN_NOTE, ownerTag, salt, collateralFlags,
                          scaledCollateral[0..N-1], scaledDebt[0..N-1])
    nullifier  = Poseidon(DOMAIN_NULLIFIER, commitment, salt)

One Poseidon call over 4 + 2N inputs (circomlib takes at most 16), so N <= 6. The nullifier needs
the opening, not sk: whoever holds the opening (the owner; the keepers of issue #15) can compute
it, while owner operations also prove knowledge of sk. Mirrors circuits/lib/pool.circom.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Final

from ..errors import InputError
from ..field import R
from ..limits import AMOUNT_BITS
from ..poseidon import poseidon

# Domain tags, derived like the project's other tags (zkmargin.commitment.LENDING_TAG)
DOMAIN_NOTE: Final = int.from_bytes(b"zkmargin/pool/note/v1", "big")
DOMAIN_OWNER: Final = int.from_bytes(b"zkmargin/pool/owner/v1", "big")
DOMAIN_NULLIFIER: Final = int.from_bytes(b"zkmargin/pool/nullifier/v1", "big")
#: reserves a note can hold: one Poseidon over 4 + 2N inputs
MAX_RESERVES: Final = 6


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

    @property
    def n_reserves(self) -> int:
        return len(self.scaled_collateral)

    @classmethod
    def empty(cls, n: int, owner: int, salt: int) -> Note:
        return cls((0,) * n, (0,) * n, 0, owner, salt)

    def flag(self, i: int) -> bool:
        return (self.collateral_flags >> i) & 1 == 1

    def fields(self) -> list[int]:
        """The commitment's Poseidon inputs after the domain tag, in order."""
        return [self.owner_tag, self.salt, self.collateral_flags, *self.scaled_collateral, *self.scaled_debt]

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
