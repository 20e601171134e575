"""Poseidon encryption (the duplex of Khovratovich's Poseidon-based cipher), bit-identical to
@zk-kit/poseidon-cipher 0.3.2, and the sealed note box built on it with Baby Jubjub ECDH.

Cipher (key = a Baby Jubjub point (k0, k1), nonce < 2^128, message m of length n):
  state = (0, k0, k1, nonce + n * 2^128); m padded with zeros to a multiple of 3;
  for each block of 3: state = perm(state); state[1..3] += block; emit state[1..3];
  finally state = perm(state); emit state[1] (the authentication element).
So a ciphertext has pad3(n) + 1 elements. perm is Poseidon's width-4 permutation
(zkmargin.poseidon.poseidon_perm, = circomlib PoseidonEx(3, 4)).

Decryption here is stricter than the JS package in two ways, both only about ciphertexts no
honest encryption produces: the ciphertext must have exactly pad3(length) + 1 elements, and
the zero padding is checked for every length (JS checks it only when length > 3). The
circuit template (circuits/lib/note_cipher.circom) pins the padding to zero as well.

Sealed box: an ephemeral secret e, its public key E = e Base8 and the shared point e P with
the recipient's key P; the recipient recomputes it as p E. Several recipients share one E.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..field import R
from ..poseidon import poseidon_perm
from . import babyjub
from .babyjub import Point

TWO128 = 2**128


class DecryptionError(InputError):
    """A ciphertext does not decrypt under this key and nonce: wrong key or nonce, wrong
    length, or tampered (the authentication element or the zero padding does not match)."""

    def __init__(self, message: str, field: str = "ciphertext") -> None:
        super().__init__(field, message)


def padded_length(length: int) -> int:
    """The message length rounded up to a multiple of 3."""
    return -(-length // 3) * 3


def ciphertext_length(length: int) -> int:
    """Elements of the ciphertext of a message of `length` elements."""
    return padded_length(length) + 1


def _field_elements(values: Sequence[int], field: str) -> list[int]:
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < R:
            raise InputError(f"{field}[{i}]", f"{v!r} is not a field element (0 <= v < r)")
        out.append(v)
    return out


def _initial_state(key: Point, nonce: int, length: int) -> list[int]:
    k = _field_elements(list(key), "key")
    if len(k) != 2:
        raise InputError("key", "an encryption key is a point (x, y)")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not 0 <= nonce < TWO128:
        raise InputError("nonce", f"{nonce!r} is not in [0, 2^128)")
    if length < 1:
        raise InputError("length", "a message has at least one element")
    return [0, k[0], k[1], (nonce + length * TWO128) % R]


def encrypt(message: Sequence[int], key: Point, nonce: int) -> list[int]:
    """@zk-kit/poseidon-cipher's poseidonEncrypt(message, key, nonce)."""
    msg = _field_elements(message, "message")
    state = _initial_state(key, nonce, len(msg))
    msg += [0] * (padded_length(len(msg)) - len(msg))
    out: list[int] = []
    for i in range(0, len(msg), 3):
        state = poseidon_perm(state)
        for j in range(3):
            state[j + 1] = (state[j + 1] + msg[i + j]) % R
        out += state[1:4]
    return [*out, poseidon_perm(state)[1]]


def decrypt(ciphertext: Sequence[int], key: Point, nonce: int, length: int) -> list[int]:
    """The message of `length` elements; DecryptionError if the ciphertext does not authenticate."""
    ct = _field_elements(ciphertext, "ciphertext")
    state = _initial_state(key, nonce, length)
    if len(ct) != ciphertext_length(length):
        raise DecryptionError(
            f"has {len(ct)} elements; a message of {length} elements encrypts to {ciphertext_length(length)}"
        )
    msg: list[int] = []
    for i in range(0, len(ct) - 1, 3):
        state = poseidon_perm(state)
        msg += [(ct[i + j] - state[j + 1]) % R for j in range(3)]
        state[1:4] = ct[i : i + 3]
    if poseidon_perm(state)[1] != ct[-1]:
        raise DecryptionError("authentication failed: wrong key or nonce, or the ciphertext was altered")
    if any(msg[length:]):
        raise DecryptionError("authentication failed: the padding after the message is not zero")
    return msg[:length]


@dataclass(frozen=True)
class SealedBox:
    """What a note event publishes for one recipient: the ephemeral public key, the nonce and
    the ciphertext of the opening."""

    ephemeral: Point
    nonce: int
    ciphertext: tuple[int, ...]


def seal(message: Sequence[int], recipient: Point, ephemeral_secret: int, nonce: int = 0) -> SealedBox:
    """Encrypt to a recipient's public key (validated) with an ephemeral secret (fresh per note)."""
    eph_pub = babyjub.public_key(ephemeral_secret)
    shared = babyjub.ecdh(ephemeral_secret, recipient, "recipient")
    return SealedBox(eph_pub, nonce, tuple(encrypt(message, shared, nonce)))


def open_box(box: SealedBox, secret: int, length: int) -> list[int]:
    """The message of a sealed box for the holder of `secret`; DecryptionError if it is not theirs
    or was altered, InputError if the ephemeral key is not a subgroup point."""
    shared = babyjub.ecdh(secret, box.ephemeral, "ephemeral")
    return decrypt(box.ciphertext, shared, box.nonce, length)
