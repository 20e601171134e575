"""An owner's and a keeper's key material, each from one random seed, and their key files.

Owner (`OwnerKeys`), from a 32-byte seed:
  spending key  sk = SHA-512("zkmargin.pool/spend" || seed) mod r, a field element != 0. Only
                its holder can spend a note: the notes' owner tag is Poseidon(DOMAIN_OWNER, sk)
                (the domain constant belongs to the notes module; `owner_tag` takes it).
  viewing key   v  = SHA-512("zkmargin.pool/view" || seed) mod (l - 1) + 1, a Baby Jubjub
                secret scalar in [1, l), and V = v Base8. Every note created for the owner is
                published sealed to V (zkmargin.pool.cipher), so the seed alone restores the
                wallet from chain events. Knowing v reveals balances, never spends.
Keeper (`KeeperKeys`): a Baby Jubjub key pair k, K = k Base8 from its own seed
  ("zkmargin.pool/keeper"); K is registered in the pool and every note is sealed to it too.

The two derivations are domain-separated so that leaking one secret (a viewing key handed to an
auditor) says nothing about the other. SHA-512 reduced mod r (or l - 1) has a bias below 2^-250.

Key files are JSON with the seed and the public parts (checked against the seed on load),
written 0600, atomically (zkmargin.fsutil's writer, then a no-clobber link), never over an
existing file. Loading is strict: unknown or missing keys, a bad seed or a public key that the
seed does not give are refused with an InputError naming the field; so is a file that others
can read.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InputError
from ..field import R
from ..fsutil import write_bytes_atomic
from ..poseidon import poseidon
from ..strictjson import json_path, kind_of, read_json
from . import babyjub
from .babyjub import Point

SEED_BYTES = 32
OWNER_FORMAT = "zkmargin.pool.owner-keys/1"
KEEPER_FORMAT = "zkmargin.pool.keeper-keys/1"
_SPEND = b"zkmargin.pool/spend"
_VIEW = b"zkmargin.pool/view"
_KEEPER = b"zkmargin.pool/keeper"


def _wide(domain: bytes, seed: bytes) -> int:
    return int.from_bytes(hashlib.sha512(domain + b"\x00" + seed).digest(), "big")


def _check_seed(seed: bytes) -> bytes:
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise InputError("seed", f"a seed is {SEED_BYTES} bytes")
    return seed


def spending_key(seed: bytes) -> int:
    sk = _wide(_SPEND, _check_seed(seed)) % R
    return sk or 1  # 0 has probability 2^-254; a fixed non-zero stand-in keeps the type total


def viewing_secret(seed: bytes) -> int:
    return _wide(_VIEW, _check_seed(seed)) % (babyjub.L - 1) + 1


def keeper_secret(seed: bytes) -> int:
    return _wide(_KEEPER, _check_seed(seed)) % (babyjub.L - 1) + 1


def owner_tag(spending: int, domain: int) -> int:
    """Poseidon(domain, sk): the owner tag a note commits to (the notes module owns `domain`)."""
    return poseidon([domain, spending])


@dataclass(frozen=True)
class OwnerKeys:
    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> OwnerKeys:
        return cls(secrets.token_bytes(SEED_BYTES))

    def __post_init__(self) -> None:
        _check_seed(self.seed)

    @property
    def spending_key(self) -> int:
        return spending_key(self.seed)

    @property
    def viewing_secret(self) -> int:
        return viewing_secret(self.seed)

    @property
    def viewing_public(self) -> Point:
        return babyjub.public_key(self.viewing_secret)

    def to_json(self) -> dict[str, Any]:
        return {"format": OWNER_FORMAT, "seed": self.seed.hex(), "viewingPublicKey": _point_json(self.viewing_public)}


@dataclass(frozen=True)
class KeeperKeys:
    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> KeeperKeys:
        return cls(secrets.token_bytes(SEED_BYTES))

    def __post_init__(self) -> None:
        _check_seed(self.seed)

    @property
    def secret(self) -> int:
        return keeper_secret(self.seed)

    @property
    def public(self) -> Point:
        return babyjub.public_key(self.secret)

    def to_json(self) -> dict[str, Any]:
        return {"format": KEEPER_FORMAT, "seed": self.seed.hex(), "publicKey": _point_json(self.public)}


def _point_json(p: Point) -> list[str]:
    return [str(p[0]), str(p[1])]


# --- files ---------------------------------------------------------------------------------


def write_key_file(path: str | Path, keys: OwnerKeys | KeeperKeys) -> None:
    """Write a key file 0600, atomically, refusing to replace an existing file (a key file
    overwritten is a wallet lost). The data is written and fsynced under a temporary name by
    zkmargin.fsutil.write_bytes_atomic, then hard-linked to `path`, which fails if `path` exists."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise InputError("keyfile", f"{path} exists; refusing to overwrite a key file")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    write_bytes_atomic(tmp, (json.dumps(keys.to_json(), indent=2) + "\n").encode())
    try:
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise InputError("keyfile", f"{path} exists; refusing to overwrite a key file") from None
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    finally:
        tmp.unlink(missing_ok=True)


def _parse_seed(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(where, f"must be {2 * SEED_BYTES} hex digits, got {kind_of(value)}")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != SEED_BYTES or len(value) != 2 * SEED_BYTES:
        raise InputError(where, f"must be {2 * SEED_BYTES} hex digits")
    return raw


def _parse_point(value: Any, where: str) -> Point:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) and v.isdigit() for v in value):
        raise InputError(where, "must be two decimal strings [x, y]")
    if any(len(v) > 80 for v in value):
        raise InputError(where, "coordinate too long for a field element")
    return babyjub.validate_point((int(value[0]), int(value[1])), where)


def _parse(doc: Any, fmt: str, public_key: str) -> tuple[bytes, Point]:
    if not isinstance(doc, dict):
        raise InputError("<root>", f"must be a JSON object, got {kind_of(doc)}")
    allowed = {"format", "seed", public_key}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise InputError(json_path("", unknown[0]), f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for k in sorted(allowed):
        if k not in doc:
            raise InputError(k, "missing")
    if doc["format"] != fmt:
        raise InputError("format", f"must be {fmt!r}, got {doc['format']!r}")
    return _parse_seed(doc["seed"], "seed"), _parse_point(doc[public_key], public_key)


def owner_keys_from_json(doc: Any) -> OwnerKeys:
    seed, pub = _parse(doc, OWNER_FORMAT, "viewingPublicKey")
    keys = OwnerKeys(seed)
    if keys.viewing_public != pub:
        raise InputError("viewingPublicKey", "is not the viewing key of this seed (the file was edited or mixed up)")
    return keys


def keeper_keys_from_json(doc: Any) -> KeeperKeys:
    seed, pub = _parse(doc, KEEPER_FORMAT, "publicKey")
    keys = KeeperKeys(seed)
    if keys.public != pub:
        raise InputError("publicKey", "is not the public key of this seed (the file was edited or mixed up)")
    return keys


def _read_private(path: str | Path, what: str) -> Any:
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(what, f"cannot read {path}: {e.strerror}") from None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        raise InputError(
            "permissions",
            f"readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it",
            source=f"{what} file {path}",
        )
    return read_json(path, what)


def load_owner_keys(path: str | Path) -> OwnerKeys:
    return _sourced(path, "owner keys", owner_keys_from_json)


def load_keeper_keys(path: str | Path) -> KeeperKeys:
    return _sourced(path, "keeper keys", keeper_keys_from_json)


T = TypeVar("T")


def _sourced(path: str | Path, what: str, parse: Callable[[Any], T]) -> T:
    doc = _read_private(path, what)
    try:
        return parse(doc)
    except InputError as e:
        if e.source is not None:
            raise
        raise InputError(e.field, e.detail, source=f"{what} file {path}") from None
