"""Solidity: snarkjs Groth16 verifiers and the reference contracts, compiled with the pinned solcjs.

Compiled output is cached by a hash of the sources, the settings and the solc
version (cache_root()/solidity/<key>.json), so it is never stale.
"""

from __future__ import annotations

import json
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import ArtifactError, InputError
from .fsutil import write_json_atomic
from .groth16_format import parse_vkey
from .proc import run
from .strictjson import read_json
from .toolchain import Toolchain

_JS = Path(__file__).parent / "js"
CONTRACTS_DIR = paths.CONTRACTS_DIR
# Cancun: supported by anvil, pyrevm and every major L1/L2 today; optimizer on, as deployed.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object"]}
    },
}
VERIFIER_CONTRACT = "Groth16Verifier"


@dataclass(frozen=True)
class Compiled:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes  # empty when the contract calls a library's public functions: see `linked`
    runtime_size: int
    unlinked: str = ""  # creation code as hex with solc's __$...$__ placeholders (libraries to link)
    # library name -> byte offsets of its 20-byte address in the creation code
    link_offsets: dict[str, list[int]] = field(default_factory=dict)

    def linked(self, libraries: dict[str, str]) -> bytes:
        """The creation code with each library's deployed address written in (`bytecode` if none)."""
        if not self.unlinked:
            return self.bytecode
        missing = sorted(set(self.link_offsets) - set(libraries))
        if missing:
            raise ArtifactError(f"{self.name}: link the libraries {missing}")
        hexcode = self.unlinked
        for lib, offsets in self.link_offsets.items():
            addr = libraries[lib].removeprefix("0x").lower()
            for off in offsets:
                hexcode = hexcode[: 2 * off] + addr + hexcode[2 * off + 40 :]
        return bytes.fromhex(hexcode)


def verifier_source(vkey: Any, tc: Toolchain) -> str:
    """snarkjs's Groth16 verifier for this key (same text as `zkey export solidityverifier`),
    rendered from the canonical key groth16_format re-makes (InputError when malformed): the
    template reads nPublic and IC separately and would print whatever digits it is given."""
    with tempfile.TemporaryDirectory(prefix="zkmargin-sol-") as d:
        p = Path(d) / "vkey.json"
        p.write_text(json.dumps(parse_vkey(vkey).to_json()))
        return run([tc.node_path(), _JS / "export_verifier.cjs", tc.node_modules, p], timeout=120).stdout


# `import "x";`, `import {A} from "x";`, `import * as M from "x";` at the start of a line
_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']\s*;""", re.MULTILINE)


def with_imports(sources: dict[str, str], tc: Toolchain) -> dict[str, str]:
    """`sources` plus every file they import, transitively, by solc's source unit names: a relative
    import resolves against the importing unit, any other path (`@openzeppelin/contracts/...`) is a
    file of the pinned node_modules. Resolved here, not by a compiler callback, so that the cache
    key of compile_sources covers the imported text too. ArtifactError when an import is missing."""
    out = dict(sources)
    todo = list(sources)
    while todo:
        unit = todo.pop()
        for target in _IMPORT.findall(out[unit]):
            joined = posixpath.join(posixpath.dirname(unit), target) if target.startswith(".") else target
            name = posixpath.normpath(joined)
            if name in out:
                continue
            file = tc.node_modules / name
            if name.startswith(("..", "/")) or not file.is_file():
                raise ArtifactError(
                    f"solc: {unit} imports {target!r}, which is neither compiled here nor in {tc.node_modules}"
                )
            out[name] = file.read_text()
            todo.append(name)
    return out


def compile_sources(sources: dict[str, str], tc: Toolchain) -> dict[str, Compiled]:
    """Compile {path: source} and what it imports (with_imports); returns contracts by name.
    ArtifactError on compiler errors."""
    sources = with_imports(sources, tc)
    key = paths.sha256_json({"sources": sources, "settings": SETTINGS, "solc": tc.version("solc")})[:24]
    cached = paths.cache_root() / "solidity" / f"{key}.json"
    try:
        out = read_json(cached, "compiled contracts")
    except InputError:  # not compiled yet (or damaged): compile
        out = None
    if not isinstance(out, dict):
        std_in = {
            "language": "Solidity",
            "sources": {k: {"content": v} for k, v in sources.items()},
            "settings": SETTINGS,
        }
        with tempfile.TemporaryDirectory(prefix="zkmargin-solc-") as d:
            p = Path(d) / "input.json"
            p.write_text(json.dumps(std_in))
            res = json.loads(run([tc.node_path(), _JS / "solc_compile.cjs", tc.node_modules, p], timeout=600).stdout)
        errors = [e for e in res["output"].get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise ArtifactError("solc: " + "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
        out = {}
        for file_contracts in res["output"]["contracts"].values():
            for name, c in file_contracts.items():
                refs = c["evm"]["bytecode"].get("linkReferences", {})
                out[name] = {
                    "abi": c["abi"],
                    "bytecode": c["evm"]["bytecode"]["object"],
                    "runtime_size": len(c["evm"]["deployedBytecode"]["object"]) // 2,
                    "links": {lib: [r["start"] for r in rs] for f in refs.values() for lib, rs in f.items()},
                }
        try:
            write_json_atomic(cached, out)
        except OSError:
            pass  # only a cache: a read-only one (or a full disk) costs a recompile next time, not the result
    return {n: _compiled(n, c) for n, c in out.items()}


def _compiled(name: str, c: dict[str, Any]) -> Compiled:
    links = c.get("links") or {}
    if links:
        return Compiled(name, c["abi"], b"", c["runtime_size"], c["bytecode"], links)
    return Compiled(name, c["abi"], bytes.fromhex(c["bytecode"]), c["runtime_size"])


def compile_verifier(vkey: Any, tc: Toolchain) -> Compiled:
    return compile_sources({"Groth16Verifier.sol": verifier_source(vkey, tc)}, tc)[VERIFIER_CONTRACT]


def poseidon_contract(n_inputs: int, tc: Toolchain) -> Compiled:
    """circomlibjs's EVM Poseidon for n inputs: `poseidon(uint256[n]) returns (uint256)`."""
    out = json.loads(
        run([tc.node_path(), _JS / "poseidon_contract.cjs", tc.node_modules, str(n_inputs)], timeout=120).stdout
    )
    code = bytes.fromhex(out["bytecode"][2:])
    return Compiled(f"PoseidonT{n_inputs + 1}", out["abi"], code, 0)


def compile_reference_contracts(tc: Toolchain) -> dict[str, Compiled]:
    """contracts/**/*.sol (LiquidationVerifierRegistry, the private pool, their test contracts) and what they import."""
    sources = {str(p.relative_to(CONTRACTS_DIR)): p.read_text() for p in sorted(CONTRACTS_DIR.rglob("*.sol"))}
    return compile_sources(sources, tc)
