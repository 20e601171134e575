"""Find node and the pinned node packages (circom2, snarkjs, circomlib, solc, anvil), and
the chosen prover backend.

Resolution order: an explicit argument, then the environment (ZKMARGIN_NODE,
ZKMARGIN_NODE_MODULES, ZKMARGIN_PROVER), then `node` on PATH, the node_modules that
`zkmargin setup` installed from the lock file this package ships (per user, one directory per
lock), and the "auto" prover (the C prover when a C compiler builds it, else snarkjs).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import paths
from .errors import ToolchainError
from .fsutil import file_lock, staging_dir
from .proc import resolve, run
from .progress import NullProgress, Progress

# package -> (CLI script relative to the package, what it is for)
PACKAGES: dict[str, tuple[str | None, str]] = {
    "circom2": ("cli.js", "circuit compiler (circom 2.2, WASM build)"),
    "snarkjs": ("build/cli.cjs", "Groth16 setup, proving and reference verification"),
    "circomlib": (None, "circuit library (Poseidon, comparators, bitify)"),
    "circomlibjs": (None, "reference Poseidon used by the tests"),
    "@zk-kit/circuits": (None, "circuit library of the private pool (binary-merkle-root)"),
    "solc": ("solc.js", "Solidity compiler (solcjs)"),
    "@foundry-rs/anvil": ("bin.mjs", "local EVM node for on-chain tests"),
}
REQUIRED = ("circom2", "snarkjs", "circomlib", "@zk-kit/circuits", "solc")
# What changes compiled circuits and keys; part of every compile cache key.
FINGERPRINTED = ("circom2", "snarkjs", "circomlib", "@zk-kit/circuits")
FIX = "run `zkmargin setup` (installs the pinned node packages with npm ci; needs node and npm)"
NPM_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Toolchain:
    node: str
    node_modules: Path
    prover: str = "auto"  # "auto", "c" or "snarkjs": see prover.backend

    @classmethod
    def discover(
        cls, node: str | None = None, node_modules: str | Path | None = None, prover: str | None = None
    ) -> Toolchain:
        node_s = node or os.environ.get("ZKMARGIN_NODE") or "node"
        nm = node_modules or os.environ.get("ZKMARGIN_NODE_MODULES") or paths.node_toolchain_dir() / "node_modules"
        return cls(node_s, Path(nm).resolve(), prover or os.environ.get("ZKMARGIN_PROVER") or "auto")

    def package_dir(self, package: str) -> Path:
        return self.node_modules / package

    def version(self, package: str) -> str:
        meta = self.package_dir(package) / "package.json"
        try:
            return str(json.loads(meta.read_text())["version"])
        except (OSError, ValueError, KeyError):
            raise ToolchainError(f"node package {package} is missing from {self.node_modules}: {FIX}") from None

    def script(self, package: str) -> Path:
        rel = PACKAGES[package][0]
        assert rel is not None, package
        path = self.package_dir(package) / rel
        if not path.is_file():
            raise ToolchainError(f"node package {package} is missing from {self.node_modules}: {FIX}")
        return path

    def node_path(self) -> str:
        try:
            return resolve(self.node)
        except ToolchainError:
            raise ToolchainError(f"node ({self.node}) not found: install Node.js >= 18 or set ZKMARGIN_NODE") from None

    def argv(self, package: str, *args: str | Path) -> list[str]:
        """argv running a package's CLI through node."""
        return [self.node_path(), str(self.script(package)), *(str(a) for a in args)]

    @property
    def circomlib_circuits(self) -> Path:
        d = self.package_dir("circomlib") / "circuits"
        if not d.is_dir():
            raise ToolchainError(f"circomlib is missing from {self.node_modules}: {FIX}")
        return d

    @property
    def zk_kit_circuits(self) -> Path:
        d = self.package_dir("@zk-kit/circuits") / "circom"
        if not d.is_dir():
            raise ToolchainError(f"@zk-kit/circuits is missing from {self.node_modules}: {FIX}")
        return d

    @cached_property
    def fingerprint(self) -> dict[str, str]:
        """Versions that change what a build produces; part of every cache key."""
        return {p: self.version(p) for p in FINGERPRINTED}

    def require(self) -> None:
        """Raise ToolchainError listing everything missing for compile/setup/prove."""
        if self._problems:
            raise ToolchainError("toolchain incomplete:\n  " + "\n  ".join(self._problems))

    @cached_property
    def _problems(self) -> list[str]:
        # checked once per Toolchain: every prove calls require(), and `node --version` is a process
        return [c.detail for c in self.checks() if not c.ok and c.name in ("node", *REQUIRED)]

    def checks(self) -> list[Check]:
        out: list[Check] = []
        try:
            node = self.node_path()
            v = run([node, "--version"], timeout=30).stdout.strip()
            major = int(v.lstrip("v").split(".")[0])
            out.append(Check("node", major >= 18, f"{node} {v}" + ("" if major >= 18 else " (need >= 18)")))
        except (ToolchainError, ValueError) as e:
            out.append(Check("node", False, str(e)))
        for pkg, (rel, what) in PACKAGES.items():
            pdir = self.package_dir(pkg)
            try:
                ver = self.version(pkg)
                if rel is not None:
                    self.script(pkg)
                out.append(Check(pkg, True, f"{ver} at {pdir} ({what})"))
            except ToolchainError:
                out.append(Check(pkg, False, f"MISSING {pkg} ({what}): expected at {pdir}; {FIX}"))
        return out


INSTALLED_STAMP = ".zkmargin-installed"


def install(node: str | None = None, progress: Progress | None = None) -> Path:
    """`npm ci` of the lock file this package ships into the per-user toolchain directory (built
    aside, published by rename, so an interrupted install is never used); returns node_modules.
    A directory already installed from the same lock is kept."""
    progress = progress or NullProgress()
    final = paths.node_toolchain_dir()
    if (final / "node_modules" / INSTALLED_STAMP).is_file():
        return final / "node_modules"
    node_s = node or os.environ.get("ZKMARGIN_NODE") or "node"
    try:
        resolve(node_s)
        npm = resolve("npm")
    except ToolchainError:
        raise ToolchainError(
            "zkmargin setup needs Node.js (>= 18) and npm on PATH; verifying bundles (--vkey) needs neither"
        ) from None
    with file_lock(final.parent / f".{final.name}.lock", progress):
        if (final / "node_modules" / INSTALLED_STAMP).is_file():
            return final / "node_modules"
        with progress.step(f"installing the pinned node toolchain into {final} (npm ci)"), staging_dir(final) as tmp:
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(paths.NODE_LOCK_DIR / name, tmp / name)
            run([npm, "ci", "--no-audit", "--no-fund"], cwd=tmp, timeout=NPM_TIMEOUT)
            (tmp / "node_modules" / INSTALLED_STAMP).write_text("npm ci of the shipped package-lock.json\n")
    return final / "node_modules"
