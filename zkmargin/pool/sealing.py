"""Verifiable encryption of notes to their owner and the pool's keepers (issue #15 item 1): the
model of circuits/lib/note_seal.circom's SealedNote(N, K).

A note (zkmargin.pool.note) commits to its owner's viewing public key V:

    message    = Note.fields() = (ownerTag, salt, collateralFlags, scaledCollateral[N], scaledDebt[N], Vx, Vy)
    commitment = Poseidon(DOMAIN_NOTE, *message)

and every new note is published as one sealed box per recipient (zkmargin.pool.cipher.seal), all under one fresh
ephemeral key and nonce 0: the owner's (to V) first, then one per registered keeper key. The
circuit computes the commitment and every ciphertext from the same signals, so a proof exposing
both shows that each recipient decrypts exactly the committed opening. V is inside the
commitment so that a successor made without sk (a liquidation) is sealed to the same owner key:
the circuit reads V from the spent opening.

Trust model (as MACI's coordinator): a keeper key reads every note, balances and owner tag
included, and spends none (spending needs sk; liquidating needs only the opening, which is the
point). The public sees commitments and ciphertexts only. One compromised keeper secret reveals
every position to its holder; threshold decryption is later work.

The pool circuits (pool_open_2, pool_transition_2, pool_liquidation_2) take the seal as public
inputs after their own: keeperKey[K-1][2], ephemeralPublicKey[2], ciphertext[K][pad3(2N+5)+1];
`seal_signals` reads it back from a proof's public signals.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..errors import InputError
from ..witness import InputValue
from . import babyjub, cipher
from .babyjub import Point
from .cipher import DecryptionError, SealedBox
from .keys import KeeperKeys
from .note import MAX_RESERVES, Note
from .store import NoteCreated

#: every box of a sealed note uses nonce 0: the ephemeral key is fresh per note
SEAL_NONCE: Final = 0


def message_length(n_reserves: int) -> int:
    """Field elements of a note's opening, the sealed message: 2N + 5."""
    return 2 * n_reserves + 5


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
    note: Note, keeper_keys: Sequence[Point], *, ephemeral_secret: int | None = None
) -> tuple[NoteSeal, dict[str, InputValue]]:
    """Encrypt a note's opening to its owner (the note's viewing key) and the keepers; returns what
    is published and the seal's circuit inputs: keeperKey, ephemeralPublicKey, ciphertext (public)
    and ephemeralSecret (private; the ephemeral secret from the OS CSPRNG unless given)."""
    keepers = check_keeper_keys(keeper_keys)
    e = secrets.randbelow(babyjub.L - 1) + 1 if ephemeral_secret is None else ephemeral_secret
    babyjub.validate_secret(e, "ephemeralSecret")
    msg = note.fields()
    # the owner's key unvalidated beyond the curve (Note checks it), the keepers' validated
    shared = [babyjub.mul(note.viewing_key, e), *(babyjub.ecdh(e, k, "keeperKeys") for k in keepers)]
    ciphertexts = tuple(tuple(cipher.encrypt(msg, key, SEAL_NONCE)) for key in shared)
    seal = NoteSeal(babyjub.public_key(e), ciphertexts)
    inputs: dict[str, InputValue] = {
        "keeperKey": [c for k in keepers for c in k],
        "ephemeralPublicKey": list(seal.ephemeral),
        "ciphertext": [c for ct in ciphertexts for c in ct],
        "ephemeralSecret": e,
    }
    return seal, inputs


def seal_signals(signals: Mapping[str, int], n_reserves: int) -> tuple[tuple[Point, ...], NoteSeal]:
    """The keeper keys and the seal of a pool proof's public signals (names as the registry's)."""
    k = sum(1 for name in signals if name.startswith("ciphertext[") and name.endswith("[0]"))
    width = cipher.ciphertext_length(message_length(n_reserves))
    keepers = tuple((signals[f"keeperKey[{j}][0]"], signals[f"keeperKey[{j}][1]"]) for j in range(k - 1))
    eph = (signals["ephemeralPublicKey[0]"], signals["ephemeralPublicKey[1]"])
    cts = tuple(tuple(signals[f"ciphertext[{j}][{i}]"] for i in range(width)) for j in range(k))
    return keepers, NoteSeal(eph, cts)


def open_sealed(event: NoteCreated, secret: int) -> Note | None:
    """The opening of a NoteCreated event for the holder of `secret` (a keeper's or an owner's
    viewing secret): the first box that authenticates under it and whose message hashes to the
    event's commitment. None if no box does (nothing in an event is trusted beyond that).
    The reserve count is not needed: the cipher binds the message length, so only the right one
    authenticates."""
    for box in event.boxes:
        for n in range(1, MAX_RESERVES + 1):
            length = message_length(n)
            if len(box.ciphertext) != cipher.ciphertext_length(length):
                continue
            try:
                note = Note.from_fields(cipher.open_box(box, secret, length))
            except DecryptionError:
                continue
            except InputError:
                continue  # a malformed ephemeral key or a message that is no note
            if note.commitment == event.commitment:
                return note
    return None


def open_note_for_keeper(event: NoteCreated, keeper_keys: KeeperKeys) -> Note | None:
    """What a keeper reads of a NoteCreated event: the note's opening, or None if no box is sealed
    to this keeper or none matches the commitment (the pool's circuits make that impossible for
    every note they create)."""
    return open_sealed(event, keeper_keys.secret)
