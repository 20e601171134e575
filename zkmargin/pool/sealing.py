"""Verifiable encryption of notes to their owner and the pool's keepers (issue #15 item 1): the
model of circuits/lib/note_seal.circom's SealedNote(N, K).

A sealed note is a note bound to its owner's viewing public key V (zkmargin.pool.keys.OwnerKeys):

    message    = (ownerTag, salt, collateralFlags, scaledCollateral[N], scaledDebt[N], Vx, Vy)
    commitment = Poseidon(DOMAIN_NOTE_V2, *message)

and published as one sealed box per recipient (zkmargin.pool.cipher.seal), all under one fresh
ephemeral key and nonce 0: the owner's (to V) first, then one per registered keeper key. The
circuit computes the commitment and every ciphertext from the same signals, so a proof exposing
both shows that each recipient decrypts exactly the committed opening. V is inside the
commitment so that a successor made without sk (a liquidation) is sealed to the same owner key:
the circuit reads V from the spent opening.

Trust model (as MACI's coordinator): a keeper key reads every note, balances and owner tag
included, and spends none (spending needs sk; liquidating needs only the opening, which is the
point). The public sees commitments and ciphertexts only. One compromised keeper secret reveals
every position to its holder; threshold decryption is later work.

Not wired yet: the registered circuits (pool_open_2, pool_transition_2, pool_liquidation_2), the
contract and the wallet still use the v1 note (zkmargin.pool.note) and unverified boxes; see the
README, "Verifiable encryption to keepers".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..errors import InputError
from ..field import R
from ..poseidon import poseidon
from ..witness import InputValue
from . import babyjub, cipher
from .babyjub import Point
from .cipher import DecryptionError, SealedBox
from .keys import KeeperKeys
from .note import MAX_RESERVES, Note
from .store import NoteCreated

DOMAIN_NOTE_V2: Final = int.from_bytes(b"zkmargin/pool/note/v2", "big")
#: every box of a sealed note uses nonce 0: the ephemeral key is fresh per note
SEAL_NONCE: Final = 0
#: one Poseidon over 6 + 2N inputs (circomlib takes at most 16)
MAX_SEALED_RESERVES: Final = min(MAX_RESERVES, 5)


def message_length(n_reserves: int) -> int:
    """Field elements of a sealed note's opening: 2N + 5."""
    return 2 * n_reserves + 5


@dataclass(frozen=True)
class SealedOpening:
    """A note and the viewing public key of its owner, which its commitment binds."""

    note: Note
    viewing_key: Point

    def __post_init__(self) -> None:
        if self.note.n_reserves > MAX_SEALED_RESERVES:
            raise InputError("note", f"a sealed note holds at most {MAX_SEALED_RESERVES} reserves")
        # on the curve, as the circuit checks (BabyCheck); not the subgroup check of a key taken
        # from outside: whatever V an opening committed to, its successor must be sealed to it
        # again (a keeper liquidating a note whose owner chose a small-order V must not be stuck)
        v = self.viewing_key
        if len(v) != 2 or not all(isinstance(c, int) and 0 <= c < R for c in v) or not babyjub.is_on_curve(v):
            raise InputError("viewingKey", "must be a Baby Jubjub point (two field elements on the curve)")

    def message(self) -> list[int]:
        """The encrypted message: the commitment's Poseidon inputs after the tag, in order."""
        return [*self.note.fields(), *self.viewing_key]

    @property
    def commitment(self) -> int:
        return poseidon([DOMAIN_NOTE_V2, *self.message()])

    @classmethod
    def from_message(cls, message: Sequence[int]) -> SealedOpening:
        """The opening a decrypted message holds (InputError if it is not one)."""
        if len(message) < 7 or (len(message) - 5) % 2:
            raise InputError("message", f"a sealed note's message has 2N + 5 elements, got {len(message)}")
        n = (len(message) - 5) // 2
        tag, salt, flags = message[0], message[1], message[2]
        note = Note(tuple(message[3 : 3 + n]), tuple(message[3 + n : 3 + 2 * n]), flags, tag, salt)
        return cls(note, (message[3 + 2 * n], message[4 + 2 * n]))


@dataclass(frozen=True)
class NoteSeal:
    """What a proof publishes of a sealed note: the ephemeral public key and one ciphertext per
    recipient, the owner's first."""

    ephemeral: Point
    ciphertexts: tuple[tuple[int, ...], ...]

    def boxes(self) -> tuple[SealedBox, ...]:
        return tuple(SealedBox(self.ephemeral, SEAL_NONCE, ct) for ct in self.ciphertexts)

    def public_signals(self) -> list[int]:
        """ephemeralPublicKey[2], then ciphertext[K][...] flattened (the circuit's output order)."""
        return [*self.ephemeral, *(c for ct in self.ciphertexts for c in ct)]


def check_keeper_keys(keys: Sequence[Point]) -> tuple[Point, ...]:
    """The checks the pool makes when it registers a keeper key: on the curve, not the identity,
    in the prime-order subgroup (a small-order key would let anyone read what is sealed to it)."""
    if not keys:
        raise InputError("keeperKeys", "at least one keeper key: notes nobody but the owner reads are not liquidated")
    return tuple(babyjub.validate_point(k, f"keeperKeys[{i}]") for i, k in enumerate(keys))


def seal_note(
    opening: SealedOpening, keeper_keys: Sequence[Point], *, ephemeral_secret: int | None = None
) -> tuple[NoteSeal, dict[str, InputValue]]:
    """Encrypt an opening to its owner and the keepers; returns what is published and the
    SealedNote(N, 1 + keepers) inputs (the ephemeral secret from the OS CSPRNG unless given)."""
    keepers = check_keeper_keys(keeper_keys)
    e = secrets.randbelow(babyjub.L - 1) + 1 if ephemeral_secret is None else ephemeral_secret
    babyjub.validate_secret(e, "ephemeralSecret")
    msg = opening.message()
    # the owner's key unvalidated beyond the curve (see SealedOpening), the keepers' validated
    shared = [babyjub.mul(opening.viewing_key, e), *(babyjub.ecdh(e, k, "keeperKeys") for k in keepers)]
    ciphertexts = tuple(tuple(cipher.encrypt(msg, key, SEAL_NONCE)) for key in shared)
    note = opening.note
    inputs: dict[str, InputValue] = {
        "ownerTag": note.owner_tag,
        "salt": note.salt,
        "collateralFlags": note.collateral_flags,
        "scaledCollateral": list(note.scaled_collateral),
        "scaledDebt": list(note.scaled_debt),
        "viewKey": list(opening.viewing_key),
        "keeperKey": [c for k in keepers for c in k],
        "ephemeralSecret": e,
    }
    return NoteSeal(babyjub.public_key(e), ciphertexts), inputs


def open_sealed(event: NoteCreated, secret: int) -> SealedOpening | None:
    """The opening of a NoteCreated event for the holder of `secret` (a keeper's or an owner's
    viewing secret): the first box that authenticates under it and whose message hashes to the
    event's commitment. None if no box does (nothing in an event is trusted beyond that).
    The reserve count is not needed: the cipher binds the message length, so only the right one
    authenticates."""
    for box in event.boxes:
        for n in range(1, MAX_SEALED_RESERVES + 1):
            length = message_length(n)
            if len(box.ciphertext) != cipher.ciphertext_length(length):
                continue
            try:
                opening = SealedOpening.from_message(cipher.open_box(box, secret, length))
            except DecryptionError:
                continue
            except InputError:
                continue  # a malformed ephemeral key or a message that is no note
            if opening.commitment == event.commitment:
                return opening
    return None


def open_note_for_keeper(event: NoteCreated, keeper_keys: KeeperKeys) -> SealedOpening | None:
    """What a keeper reads of a NoteCreated event: the sealed opening, or None if no box is
    sealed to this keeper or none matches the commitment (a pool that verifies the seal in the
    proof never emits such an event)."""
    return open_sealed(event, keeper_keys.secret)
