"""Every file location zkmargin uses, and the cache keys, in one place.

Artifacts live in a content-addressed cache:
  <cache>/<circuit id>/<compile key>/            main.r1cs, main.wasm, main.sym, meta.json
  <cache>/<circuit id>/<compile key>/setup-<key>/   circuit.zkey, vkey.json, Groth16Verifier.sol,
                                                    verifier.json (ABI, bytecode), meta.json
The compile key hashes the circuit sources, the registry entry and the toolchain
versions; the setup key hashes the ptau file and the solc version. A directory appears only complete
(built in a temporary sibling, then renamed), and meta.json records the sha256 of
each file so that a later run re-checks before trusting it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

# Everything zkmargin reads of its own lives inside the package, so a wheel works anywhere.
# In a checkout, zkmargin/data/* are symlinks to the top-level circuits/, contracts/, fixtures/
# and the node lock files; building a wheel copies their contents in.
PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CIRCUITS_DIR = DATA_DIR / "circuits"
REGISTRY_FILE = CIRCUITS_DIR / "circuits.json"
CONTRACTS_DIR = DATA_DIR / "contracts"
FIXTURES_DIR = DATA_DIR / "fixtures"
NODE_LOCK_DIR = DATA_DIR / "node"  # package.json + package-lock.json: the pinned node toolchain
DEV_PTAU = FIXTURES_DIR / "dev-pot15.ptau"
DEV_PTAU_SHA256_FILE = FIXTURES_DIR / "dev-pot15.ptau.sha256"

R1CS = "main.r1cs"
WASM = "main.wasm"
SYM = "main.sym"
META = "meta.json"
ZKEY = "circuit.zkey"
VKEY = "vkey.json"
VERIFIER_SOL = "Groth16Verifier.sol"
VERIFIER_JSON = "verifier.json"


_CACHE_OVERRIDE: ContextVar[Path | None] = ContextVar("zkmargin_cache_dir", default=None)


@contextmanager
def cache_dir_override(path: Path | None) -> Iterator[None]:
    """Use `path` as the artifact cache in this context (Settings.cache_dir); None changes nothing."""
    token = _CACHE_OVERRIDE.set(path.expanduser().resolve() if path is not None else _CACHE_OVERRIDE.get())
    try:
        yield
    finally:
        _CACHE_OVERRIDE.reset(token)


def cache_root() -> Path:
    """Settings.cache_dir (see cache_dir_override), else $ZKMARGIN_CACHE_DIR, else
    $XDG_CACHE_HOME/zkmargin, else ~/.cache/zkmargin."""
    override = _CACHE_OVERRIDE.get()
    if override is not None:
        return override
    env = os.environ.get("ZKMARGIN_CACHE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(xdg) / "zkmargin").resolve()


def data_home() -> Path:
    """$ZKMARGIN_DATA_DIR, else $XDG_DATA_HOME/zkmargin, else ~/.local/share/zkmargin: what
    `zkmargin setup` installs (the node toolchain), per user."""
    env = os.environ.get("ZKMARGIN_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(xdg) / "zkmargin").resolve()


def node_toolchain_dir() -> Path:
    """Where `zkmargin setup` puts node_modules for the lock file this package ships (one per lock)."""
    lock = sha256_file(NODE_LOCK_DIR / "package-lock.json")
    return data_home() / "node" / lock[:16]


def circuit_sources() -> list[Path]:
    return sorted((CIRCUITS_DIR / "lib").glob("*.circom"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compile_key(circuit_id: str, spec: dict[str, Any], toolchain: dict[str, str]) -> str:
    sources = {p.name: sha256_file(p) for p in circuit_sources()}
    return sha256_json({"id": circuit_id, "spec": spec, "sources": sources, "toolchain": toolchain})[:20]


def compile_dir(circuit_id: str, key: str) -> Path:
    return cache_root() / circuit_id / key


def setup_dir(compiled: Path, ptau_sha256: str, solc_version: str, zkey_sha256: str | None = None) -> Path:
    """Keys from one ptau (or an installed ceremony zkey), plus the verifier compiled with one solc."""
    key = {"ptau": ptau_sha256, "solc": solc_version, "layout": 2, "zkey": zkey_sha256}
    return compiled / f"setup-{sha256_json(key)[:20]}"


def installed_pointer(compiled: Path, ptau_sha256: str) -> Path:
    """Names the setup dir of a ceremony zkey installed for this circuit and ptau."""
    return compiled / f"installed-{ptau_sha256[:20]}.json"


def native_dir(key: str) -> Path:
    """The native prover library compiled from one source with one compiler and flag set."""
    return cache_root() / "native" / key
