"""Batch scanning for liquidators: evaluate many positions, prove the liquidatable ones.

Bundles are written one by one, atomically, as their proofs finish, so an interrupted
scan keeps what it finished; a rerun skips a position whose bundle already proves the
same public signals under the same verification key (resume). The proving runs on this
machine's cores (warm_prover.ProverPool) or on a Ray cluster (ray_prover.RayProverPool, `ray=`);
either way the bundles are written here, by this process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import build, prover, ray_prover, registry
from .api import make_bundle
from .bundle import load_bundle, vkey_hash
from .errors import ArtifactError, InputError, StatementFalse
from .fsutil import write_json_atomic
from .limits import MAX_SCAN_FILE_BYTES
from .loaders import position_from_json, read_json
from .model import Market, Position, PriceSnapshot, evaluate, format_wad
from .settings import Settings
from .statements.lending import lending_context, liquidation_inputs
from .strictjson import json_path
from .warm_prover import ProverPool
from .witness import InputValue, WitnessCalculator

REPORT = "scan-report.json"
_NAME = re.compile(r"(?!\.)[A-Za-z0-9._-]{1,100}\Z")  # never "." or "..", nor hidden


@dataclass
class ScanItem:
    name: str
    status: str  # proven | resumed | healthy | error
    health_factor: str | None = None
    bundle: str | None = None
    error: str | None = None


@dataclass
class ScanReport:
    items: list[ScanItem] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "scanned": len(self.items),
            "proven": self.count("proven"),
            "resumed": self.count("resumed"),
            "healthy": self.count("healthy"),
            "errors": self.count("error"),
            "positions": [i.__dict__ for i in self.items],
        }


def _sources(source: Path, market: Market) -> list[tuple[str, Position | InputError]]:
    """(name, position or the error loading it) from a directory of files or one JSON file."""
    out: list[tuple[str, Position | InputError]] = []

    def load(name: str, raw: Any, where: str) -> None:
        try:
            out.append((name, position_from_json(raw, market)))
        except InputError as e:
            out.append((name, InputError(e.field, e.detail, source=where)))

    if source.is_dir():
        for p in sorted(source.glob("*.json")):
            # a hostile file (deep nesting, a huge number, binary, a FIFO) is one error item;
            # the reader's limits make sure it cannot take the scan down with it
            where = f"position file {p}"
            try:
                raw = read_json(p, "position")
            except InputError as e:
                out.append((p.stem, InputError(e.field, e.detail, source=where)))
                continue
            load(p.stem, raw, where)
        return out
    data = read_json(source, "positions", MAX_SCAN_FILE_BYTES)
    if isinstance(data, dict) and isinstance(data.get("positions"), dict):
        items = list(data["positions"].items())
    elif isinstance(data, list):
        items = [(f"position-{i:05d}", d) for i, d in enumerate(data)]
    else:
        raise InputError(
            "positions", 'a positions file is a JSON array of positions or {"positions": {name: position}}'
        )
    for i, (name, raw) in enumerate(items):
        if not _NAME.match(name):  # the name becomes a file name: report it under a safe one
            out.append(
                (
                    f"positions[{i}]",
                    InputError(
                        json_path("positions", name),
                        "names are 1-100 letters, digits, '-', '_' and '.'",
                        source=str(source),
                    ),
                )
            )
            continue
        load(name, raw, f"{source} positions.{name}")
    return out


def scan(
    source: Path,
    market: Market,
    prices: PriceSnapshot,
    out_dir: Path,
    threshold: int,
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_item: Callable[[ScanItem], None] | None = None,
    ray: str | None = None,
    ray_status: TextIO | None = None,
) -> ScanReport:
    """Prove HF < threshold for every liquidatable position of `source` (settings: toolchain, ptau,
    prover, progress, cache); on_start(number of positions) once they are read; on_item(item) as each
    is settled.
    ray: prove on a Ray cluster at this HOST:PORT, or "auto" for a local one (workers = proving
    threads per node); ray_status: where its status lines go (actors, in flight, restarts)."""
    settings = settings or Settings()
    with settings.active():
        return _scan(source, market, prices, out_dir, threshold, settings, workers, on_start, on_item, ray, ray_status)


def _scan(
    source: Path,
    market: Market,
    prices: PriceSnapshot,
    out_dir: Path,
    threshold: int,
    settings: Settings,
    workers: int | None,
    on_start: Callable[[int], None] | None,
    on_item: Callable[[ScanItem], None] | None,
    ray: str | None,
    ray_status: TextIO | None,
) -> ScanReport:
    tc = settings.tc()
    if ray is not None:  # before any work: a missing Ray or a refused backend is said at once
        ray_prover.ray_module(ray)
        if prover.backend(tc.prover) != "c":
            raise InputError("--prover", "proving on Ray uses the C prover: a C compiler on every node")
    report = ScanReport()
    entries = _sources(source, market)
    spec = registry.for_assets("liquidation", len(market.assets))
    keys = build.build(spec, tc, settings.ptau, settings.progress)
    key_hash = vkey_hash(keys.vkey())
    calc = WitnessCalculator(keys.compiled.wasm)
    names = spec.public_signal_names()
    out_dir.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[ScanItem, Path, dict[str, InputValue], list[str]]] = []
    if on_start is not None:
        on_start(len(entries))

    def done(item: ScanItem) -> None:
        report.items.append(item)
        if on_item is not None:
            on_item(item)

    for name, loaded in entries:
        if isinstance(loaded, InputError):
            done(ScanItem(name, "error", error=str(loaded)))
            continue
        try:
            stmt = liquidation_inputs(loaded, market, prices, threshold)
        except InputError as e:
            done(ScanItem(name, "error", error=str(e)))
            continue
        except StatementFalse:  # healthy at this threshold
            done(ScanItem(name, "healthy", health_factor=format_wad(evaluate(loaded, market, prices).health_factor)))
            continue
        target = out_dir / f"{name}.bundle.json"
        hf = format_wad(stmt.health.health_factor)
        expected = [str(_flat(stmt.inputs, n)) for n in names]
        if _resumable(target, expected, key_hash):
            done(ScanItem(name, "resumed", health_factor=hf, bundle=str(target)))
            continue
        todo.append((ScanItem(name, "proven", health_factor=hf, bundle=str(target)), target, stmt.inputs, expected))

    context = lending_context(market, prices)

    def finished(i: int, proof: tuple[dict[str, Any], list[str]]) -> None:
        item, target, _, expected = todo[i]
        if proof[1] != expected:  # a prover elsewhere (or a wrong key) proved something else
            raise ArtifactError(f"the proof for {item.name} has other public signals than the position's")
        make_bundle(keys, proof[0], proof[1], context).save(target)
        done(item)

    if ray is not None and todo:  # nothing to prove: no cluster to join
        with ray_prover.RayProverPool(keys, ray, threads=workers, status=ray_status) as remote:
            remote.prove_many((inputs for _, _, inputs, _ in todo), on_done=finished)
    elif ray is None:
        with ProverPool(keys, tc, workers) as pool:
            # witnesses are computed here as the provers take them (two per worker ahead at most)
            pool.prove_many((calc.calculate(inputs) for _, _, inputs, _ in todo), on_done=finished)
    write_json_atomic(out_dir / REPORT, report.to_json())
    return report


def _flat(inputs: dict[str, Any], name: str) -> int:
    base, _, idx = name.partition("[")
    v = inputs[base]
    return int(v[int(idx[:-1])]) if idx else int(v)


def _resumable(target: Path, expected: list[str], key_hash: str) -> bool:
    if not target.exists():
        return False
    try:
        b = load_bundle(target)
    except InputError:  # BundleError included: a damaged bundle is simply proven again
        return False
    return b.public_signals == expected and b.vkey_sha256 == key_hash == vkey_hash(b.vkey)
