"""What a verifier pins so that a bundle cannot choose it: the verification key and the
statement's public parameters.

A bundle carries its own verification key, but a proof checked against the key it brought
shows only that *some* key accepts it: a forged key (delta replaced by gamma, say) accepts a
forged proof for any public signals. So the key always comes from the verifier's side
(a vkey file, a build manifest, the keys this installation built, or the verifier contract
it names), never from the bundle alone. Likewise a valid proof is about the prices,
thresholds and risk parameters in its public signals, which the prover chose: a verifier
names the ones it requires (`Expectations`) and any other value makes the bundle invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from . import build, perp, registry
from .bundle import Bundle, Claim, vkey_hash
from .errors import InputError, ToolchainError
from .groth16_format import parse_vkey
from .loaders import read_json
from .model import Market, PriceSnapshot, format_wad
from .statement import Statement
from .toolchain import Toolchain

KeySource = Literal["vkey", "manifest", "installation", "verifier", "embedded"]


@dataclass(frozen=True)
class TrustedKey:
    """The verification key a bundle is checked against, and where the verifier got it."""

    vkey: dict[str, Any]
    sha256: str
    source: KeySource
    where: str
    circuit: str | None = None  # the circuit the source pins the key for, when it names one

    @property
    def pinned(self) -> bool:
        return self.source != "embedded"

    def describe(self) -> str:
        return {
            "vkey": f"pinned by --vkey {self.where}",
            "manifest": f"pinned by the manifest {self.where}",
            "installation": f"pinned: this installation's key ({self.where})",
            "verifier": f"pinned by the verifier contract {self.where}",
            "embedded": "NOT PINNED: the bundle's own key (inspection only; it proves nothing about the statement)",
        }[self.source]

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "source": self.source, "where": self.where, "pinned": self.pinned}

    def mismatch(self, bundle: Bundle) -> str | None:
        """Why `bundle` was not made for this key (None when it was)."""
        embedded = vkey_hash(bundle.vkey)
        if embedded != bundle.vkey_sha256:
            return "embedded verification key does not match vkey_sha256"
        if self.circuit not in (None, bundle.circuit):
            return f"the key {self.describe()} is for circuit {self.circuit}, not {bundle.circuit}"
        if self.sha256 != embedded:
            return f"bundle was made for a different verification key than the one {self.describe()}"
        return None


class KeyStore(Protocol):
    """Keys a verifier trusts, looked up by the bundle's circuit (and ptau)."""

    def lookup(self, bundle: Bundle) -> TrustedKey | None: ...


class InstalledKeys:
    """The keys this installation built (`zkmargin build`, or any prove): the one `build()` would
    use for the bundle's circuit, from the current circuit sources and toolchain, and the ptau
    the bundle names. Never builds: a fresh setup is a new key no existing bundle was made for,
    and keys of older circuit sources are not trusted (the circuit may since have been fixed)."""

    def __init__(self, toolchain: Toolchain | None = None) -> None:
        self.toolchain = toolchain

    def lookup(self, bundle: Bundle) -> TrustedKey | None:
        spec = registry.load_registry().get(bundle.circuit)
        ptau_sha = bundle.setup.get("ptau_sha256")
        if spec is None or not isinstance(ptau_sha, str) or len(ptau_sha) != 64:
            return None
        try:
            keys = build.existing_keys(spec, self.toolchain or Toolchain.discover(), ptau_sha)
        except ToolchainError:
            return None
        if keys is None:
            return None
        vkey = keys.vkey()
        return TrustedKey(vkey, vkey_hash(vkey), "installation", str(keys.vkey_path), spec.id)


def key_from_vkey(vkey: dict[str, Any] | str | Path) -> TrustedKey:
    """A key the verifier passes (a vkey.json path or its parsed dict)."""
    where = str(vkey) if isinstance(vkey, (str, Path)) else "(vkey object)"
    key = read_json(vkey, "vkey") if isinstance(vkey, (str, Path)) else vkey
    try:  # well-formed only: a valid key of another circuit is a mismatch (invalid), not bad input
        parse_vkey(key)
    except InputError as e:
        raise InputError("--vkey", f"{where} is not a snarkjs Groth16 verification key ({e})") from None
    return TrustedKey(key, vkey_hash(key), "vkey", where)


def key_from_manifest(manifest: dict[str, Any] | str | Path, bundle: Bundle) -> TrustedKey:
    """A build manifest pins the circuit and the key's sha256; the bundle's embedded key is then
    used only if it hashes to that value (checked by the caller like any pinned key)."""
    where = str(manifest) if isinstance(manifest, (str, Path)) else "(manifest object)"
    m = read_json(manifest, "manifest") if isinstance(manifest, (str, Path)) else manifest
    if not isinstance(m, dict) or m.get("format") != build.MANIFEST_FORMAT:
        raise InputError("--manifest", f"{where} is not a {build.MANIFEST_FORMAT} file")
    sha, circuit = m.get("vkey_sha256"), m.get("circuit")
    if not isinstance(sha, str) or len(sha) != 64 or not isinstance(circuit, str):
        raise InputError("--manifest", f"{where} has no circuit and vkey_sha256")
    # the bundle's key is used only when it hashes to `sha` (the caller checks, as for any key)
    return TrustedKey(bundle.vkey, sha, "manifest", where, circuit)


HOW_TO_PIN = (
    "pass the verification key you trust (--vkey FILE, or vkey= in the API) or the build manifest "
    "(--manifest FILE) published by whoever ran the setup; an installation's own keys are used "
    "without either for the bundles it proved itself; --insecure-embedded-key only inspects the "
    "bundle's own key and never verifies"
)


def resolve_key(
    bundle: Bundle,
    *,
    vkey: dict[str, Any] | str | Path | None = None,
    manifest: dict[str, Any] | str | Path | None = None,
    keys: KeyStore | None = None,
    verifier: str | None = None,
    inspect_embedded: bool = False,
) -> TrustedKey:
    """The key to verify against, from the verifier's side; InputError (naming how to pin)
    when there is none. A pinned vkey and a manifest must agree."""
    if vkey is not None:
        key = key_from_vkey(vkey)
        if manifest is not None and key_from_manifest(manifest, bundle).sha256 != key.sha256:
            raise InputError("--manifest", "pins another verification key than --vkey")
        return key
    if manifest is not None:
        return key_from_manifest(manifest, bundle)
    if keys is not None:
        found = keys.lookup(bundle)
        if found is not None:
            return found
    if verifier is not None:
        # the contract holds its own key: what it accepts is what the caller trusts
        return TrustedKey(bundle.vkey, vkey_hash(bundle.vkey), "verifier", verifier)
    if inspect_embedded:
        return TrustedKey(bundle.vkey, vkey_hash(bundle.vkey), "embedded", "bundle")
    where = "" if keys is None else f" (this installation has no key for {bundle.circuit} and the bundle's ptau)"
    raise InputError("--vkey", f"no trusted verification key{where}: {HOW_TO_PIN}")


# --- statements ---


@dataclass(frozen=True)
class Expectations:
    """The public parameters a verifier requires; None leaves one unpinned (the claim then
    states what was proven, and the result says what was not pinned).

    Lending statements: `market` (slot order, decimals, liquidation thresholds, bonus and fee),
    `prices` (needs `market`), `threshold` (liquidation: HF < threshold) or `min_hf` (solvency:
    HF >= min_hf), WAD. Perp statements: `perp_markets`, `perp_quotes` (needs `perp_markets`)
    and `ratio_bps`."""

    market: Market | None = None
    prices: PriceSnapshot | None = None
    threshold: int | None = None
    min_hf: int | None = None
    perp_markets: perp.PerpMarkets | None = None
    perp_quotes: dict[str, perp.PerpQuote] | None = None
    ratio_bps: int | None = None
    names: dict[str, str] = field(default_factory=dict)  # option -> how the CLI spells it

    def name_of(self, option: str) -> str:
        return self.names.get(option, option)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Slot names the verifier trusts (never the bundle's unproven context)."""
        if self.market is not None:
            return self.market.symbols
        if self.perp_markets is not None:
            return self.perp_markets.symbols
        return ()

    def pinned(self) -> list[str]:
        return [
            k
            for k in ("market", "prices", "threshold", "min_hf", "perp_markets", "perp_quotes", "ratio_bps")
            if getattr(self, k) is not None
        ]


FIELDS = ("market", "prices", "threshold", "min_hf", "perp_markets", "perp_quotes", "ratio_bps")


def _refuse_inapplicable(exp: Expectations, stmt: Statement[Any]) -> None:
    """Options that cannot apply to this bundle's statement are an input error, never ignored."""
    wrong = [o for o in FIELDS if getattr(exp, o) is not None and o not in stmt.pins]
    if wrong:
        raise InputError(exp.name_of(wrong[0]), f"does not apply to a {stmt.name} bundle")
    if exp.prices is not None and exp.market is None:
        raise InputError(exp.name_of("prices"), f"needs {exp.name_of('market')} (the slot order of the prices)")
    if exp.perp_quotes is not None and exp.perp_markets is None:
        raise InputError(exp.name_of("perp_quotes"), f"needs {exp.name_of('perp_markets')}")


def statement_problem(claim: Claim, exp: Expectations) -> str | None:
    """Why the proven public parameters are not the ones the verifier requires (None if they are,
    or for what is not pinned). InputError for options that cannot apply to the statement."""
    stmt = claim.kind
    _refuse_inapplicable(exp, stmt)
    spec = registry.get(claim.circuit)
    for pinned in (exp.market, exp.perp_markets):
        if pinned is not None and len(pinned.symbols) > spec.n_assets:
            return f"the bundle's circuit has {spec.n_assets} slots, the pinned market {len(pinned.symbols)} assets"
    for name, (want, origin) in stmt.expected(spec.n_assets, exp).items():
        got = claim.signals.get(name)
        if got is not None and got != want:
            shown = format_wad if name == "hfThreshold" else str
            return f"proven {name} = {shown(got)}, but {origin} requires {shown(want)}"
    return None


def unpinned(claim: Claim, exp: Expectations) -> list[str]:
    """Which of the statement's parameters the verifier left to the prover."""
    return [exp.name_of(o) for o in claim.kind.pins if getattr(exp, o) is None]
