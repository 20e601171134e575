"""Exception hierarchy of zkmargin.

The library raises these; only the CLI maps them to exit codes (cli/main.py).
"""

from __future__ import annotations


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class InputError(ZkMarginError):
    """A user-supplied value is malformed or outside what the circuits accept.

    ``field`` names the offending value as a dotted path (``collateral.WETH``,
    ``prices.USDC.price``, ``--threshold``) so that a message can point at it.
    """

    def __init__(self, field: str, message: str, source: str | None = None) -> None:
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{field}: {message}")
        self.field = field
        self.detail = message
        self.source = source


class ToolchainError(ZkMarginError):
    """node, circom2, snarkjs or another external tool is missing or unusable."""


class CommandError(ToolchainError):
    """An external command failed; carries everything needed to debug it."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str) -> None:
        tail = (stderr.strip() or stdout.strip())[-2000:]
        super().__init__(f"command failed with exit code {returncode}: {' '.join(argv)}\n{tail}")
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ArtifactError(ZkMarginError):
    """A circuit artifact (r1cs, wasm, zkey, ptau, vkey) is missing, corrupt or unsuitable."""


class WitnessError(ZkMarginError):
    """The circuit rejected the inputs while computing the witness (a constraint failed)."""


class StatementFalse(ZkMarginError):
    """The statement to prove is false for these inputs (e.g. the position is healthy).

    Raised before any proving work, so no artifact or bundle is written.
    """


class BundleError(InputError):
    """A proof bundle is malformed."""


class CacheNotWritable(ArtifactError):
    """The artifact cache must be written (to build, or to take the build lock) but cannot be."""

    def __init__(self, directory: str, reason: str) -> None:
        super().__init__(
            f"the artifact cache directory {directory} is not writable ({reason}): zkmargin can use "
            f"complete artifacts from a read-only cache but cannot build new ones there; build them "
            f"where the cache is writable, or set ZKMARGIN_CACHE_DIR to a writable directory"
        )
        self.directory = directory


class LockTimeout(ArtifactError):
    """Another process held a build lock for longer than we were willing to wait."""


class ClusterError(ToolchainError):
    """The Ray cluster is unreachable, or lost its prover workers beyond what a scan retries."""


class RayNotInstalled(ClusterError):
    """Proving on a Ray cluster was asked for, but Ray (an optional dependency) is not installed."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"proving on a Ray cluster needs Ray, an optional dependency that is not installed "
            f"({reason}): pip install 'zkmargin[ray]'"
        )
