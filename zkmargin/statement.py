"""The Statement interface: one kind of claim a circuit family proves, as a plug-in.

A statement says what a valid proof establishes (`summary`, `describe`, `claim_json`), which
public parameters a verifier may pin (`pins`, `expected`), whether it is an attestation bound to a
verifier's domain, expiry and nonce, and how a request becomes circuit inputs and a bundle context
(`inputs`). The API proves and verifies through this interface without knowing any statement's
name; `circuits/circuits.json` names the statement each circuit proves.

Adding a statement costs its circuit (circuits/lib), its registry entries (circuits.json), its
module under zkmargin/statements/ (a Statement subclass, registered with `register`, and the
request type it proves from) and its CLI command.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from .errors import InputError
from .registry import CircuitSpec
from .witness import InputValue

if TYPE_CHECKING:
    from .bundle import Claim
    from .pinning import Expectations


@dataclass(frozen=True)
class StatementInputs:
    """What proving one request needs: the circuit, its inputs, and the bundle's informational context."""

    spec: CircuitSpec
    inputs: dict[str, InputValue]
    context: dict[str, Any]


R = TypeVar("R")


class Statement(ABC, Generic[R]):
    """One statement. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]  # as circuits.json's "statement" names it
    summary: ClassVar[str]  # what a valid proof says, in one line
    attestation: ClassVar[bool] = False  # binds domain, expiry and nonce (see zkmargin.attestation)
    pins: ClassVar[tuple[str, ...]] = ()  # the Expectations fields that apply to it

    @abstractmethod
    def inputs(self, request: R) -> StatementInputs:
        """Circuit inputs for a request; StatementFalse (with the deciding figure) when the
        statement does not hold, InputError for values the circuit cannot hold."""

    @abstractmethod
    def describe(self, claim: Claim) -> str:
        """The claim in words, from its public signals only."""

    @abstractmethod
    def claim_json(self, claim: Claim) -> dict[str, Any]:
        """The statement-specific part of the claim as JSON."""

    def expected(self, n_slots: int, exp: Expectations) -> dict[str, tuple[int, str]]:
        """Public signal name -> (the value the verifier requires, where it comes from)."""
        return {}


_REGISTRY: dict[str, Statement[Any]] = {}
_BUILTIN = "zkmargin.statements"


def register(statement: Statement[Any]) -> Statement[Any]:
    if statement.name in _REGISTRY and type(_REGISTRY[statement.name]) is not type(statement):
        raise ValueError(f"statement {statement.name!r} is registered twice")
    _REGISTRY[statement.name] = statement
    return statement


def registered() -> dict[str, Statement[Any]]:
    importlib.import_module(_BUILTIN)  # the built-in statements register themselves on import
    return dict(_REGISTRY)


def get(name: str) -> Statement[Any]:
    reg = registered()
    if name not in reg:
        raise InputError("statement", f"unknown statement {name!r} (known: {', '.join(sorted(reg))})")
    return reg[name]
