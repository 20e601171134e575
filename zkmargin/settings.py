"""One Settings object for what every proving and verifying call may choose, instead of the same
keyword arguments on every function: the node toolchain, the ptau, the prover, progress, the cache."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import paths
from .progress import NullProgress, Progress
from .toolchain import Toolchain


@dataclass(frozen=True)
class Settings:
    """toolchain: node and the pinned node packages (default: discovered, see Toolchain.discover);
    ptau: a prepared powers-of-tau file from a real ceremony (default: the insecure development one);
    prover: "auto", "c" or "snarkjs" (default: the toolchain's, i.e. $ZKMARGIN_PROVER or auto);
    progress: where long steps report (default: nowhere); cache_dir: the artifact cache (default:
    $ZKMARGIN_CACHE_DIR, else the per-user cache)."""

    toolchain: Toolchain | None = None
    ptau: Path | None = None
    prover: str | None = None
    progress: Progress = field(default_factory=NullProgress)
    cache_dir: Path | None = None

    def tc(self) -> Toolchain:
        tc = self.toolchain or Toolchain.discover(prover=self.prover)
        return replace(tc, prover=self.prover) if self.prover and tc.prover != self.prover else tc

    @contextmanager
    def active(self) -> Iterator[Settings]:
        """Use these settings' cache directory for the block."""
        with paths.cache_dir_override(self.cache_dir):
            yield self
