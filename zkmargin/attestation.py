"""Attestations: a statement an owner proves for one verifier (its domain), until an expiry,
with a nonce the verifier can record. Shared by every attesting statement."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from .errors import InputError

CONTEXT_MAX = 2**64 - 1  # expiry and nonce are 64-bit public inputs
MAX_EXPIRY = 253_402_300_799  # 9999-12-31T23:59:59Z: the last time a date can print
DEFAULT_TTL = 3600


def domain_hash(domain: str) -> int:
    """sha256(domain) shifted right by 3 bits, so that it is < 2^253 < r."""
    return int.from_bytes(hashlib.sha256(domain.encode()).digest(), "big") >> 3


@dataclass(frozen=True)
class AttestationContext:
    """Where and until when an attestation may be accepted."""

    domain: str
    expiry: int
    nonce: int

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not 0 < len(self.domain) <= 256:
            raise InputError("--domain", "must be 1 to 256 characters (e.g. the verifying protocol's name)")
        for name, v in (("--expiry", self.expiry), ("--nonce", self.nonce)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= CONTEXT_MAX:
                raise InputError(name, f"must be an integer in [0, {CONTEXT_MAX}]")

    @classmethod
    def create(
        cls,
        domain: str,
        expiry: int | None = None,
        ttl: int = DEFAULT_TTL,
        nonce: int | None = None,
        now: int | None = None,
    ) -> AttestationContext:
        """A context for a new attestation: expiry `expiry` (in the future) or now + ttl, and the
        nonce the verifier asked for or 64 random bits. InputError for one no verifier would accept."""
        now = int(time.time()) if now is None else now
        if expiry is not None and expiry <= now:
            raise InputError(
                "--expiry",
                f"{expiry} is not in the future (now {now}): the attestation would be refused by every verifier",
            )
        if expiry is None and ttl < 1:
            raise InputError("--ttl", "must be at least 1 second")
        at = expiry if expiry is not None else now + ttl
        if at > MAX_EXPIRY:
            raise InputError(
                "--expiry" if expiry is not None else "--ttl", f"ends past the year 9999 (unix time {MAX_EXPIRY})"
            )
        return cls(domain, at, nonce if nonce is not None else secrets.randbits(64))

    @property
    def domain_hash(self) -> int:
        return domain_hash(self.domain)
