"""Proving on a Ray cluster: one warm prover actor per node, positions streamed in, proofs back.

`RayProverPool` is `ProverPool` beyond one machine (`zkmargin scan --ray ADDRESS|auto`):
- one `ProverActor` per live node with CPUs, pinned to it and reserving its CPUs; it parses the
  zkey once (the C prover, native_prover.NativeProver) and proves `threads` witnesses at once
  (a threaded actor: the C code releases the GIL), like the local pool's threads;
- the zkey and the witness wasm travel by path when the workers share the driver's filesystem
  (or run on the driver's machine): an actor that finds the file at the driver's path with the
  driver's sha256 reads it there. Any other actor is sent the bytes (through Ray's object store,
  put there only when a node needs them) and keeps them in its own cache under their sha256,
  where a restart finds them. The digest is checked either way: no actor proves under another key;
- the witness is computed on the worker by default (`witness="worker"`): the driver sends the
  circuit inputs (251 bytes pickled, liquidation_4) instead of the witness (38 kB), and its
  ~10 ms of Python is spread over the cluster's cores. benchmarks/ray_scan.py measured the same
  total CPU either way, but 2.6-2.9 ms of driver CPU a position against 12-17 ms with
  `witness="driver"`: the driver, one Python thread, is what a large scan runs out of first;
- the driver keeps two jobs per proving thread in flight on each actor and hands the proofs to
  `on_done` on its own thread as they arrive (`scan` writes the bundles there, as with the
  local pool);
- every Ray call has a timeout: connecting (a TCP probe first: Ray itself waits 60 s, then ends
  the process), starting an actor, each job (JOB_TIMEOUT from its submission: a hung actor is
  killed and restarted). An actor that dies is restarted by Ray (max_restarts) and the jobs it had
  in flight are retried once on any live actor; a job that fails twice, or a cluster with no live
  actor left, is a ClusterError. Errors raised by the proving itself (ArtifactError,
  WitnessError) are raised as they are.
Only the native prover runs on Ray: every node needs zkmargin[ray] and a C compiler.
"""

from __future__ import annotations

import faulthandler
import hashlib
import importlib
import os
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import paths
from .build import CircuitKeys
from .errors import ArtifactError, ClusterError, InputError, RayNotInstalled, ZkMarginError
from .fsutil import write_bytes_atomic
from .native_prover import NativeProver
from .witness import InputValue, WitnessCalculator

Proof = tuple[dict[str, Any], list[str]]
Inputs = Mapping[str, InputValue]

CONNECT_TIMEOUT = 10.0  # TCP probe of the cluster's address
START_TIMEOUT = 300.0  # an actor's start: fetch the key, maybe compile the C library, parse the zkey
JOB_TIMEOUT = 300.0  # one proof from its submission (queued behind at most 2 x threads others)
RESTART_TIMEOUT = 120.0  # a dead actor back to work
FETCH_TIMEOUT = 300.0  # a worker fetching artifact bytes from the object store
MAX_RESTARTS = 3
STATUS_EVERY = 2.0  # seconds between status lines (events are reported at once)
_POLL = 0.5
WITNESS_PLACES = ("worker", "driver")
LOCAL = "auto"
_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_VIA = {"path": "read from the shared path", "cache": "in the node's cache", "bytes": "sent as bytes"}


def ray_module(address: str | None = None) -> Any:
    """The `ray` package, or RayNotInstalled naming the extra to install. Typed Any: Ray's own
    annotations are not part of zkmargin's strict type checking. For address "auto" on first
    import: a private instance listens on 127.0.0.1 only (Ray picks the node address when it is
    imported, from its switch for a cluster on one machine, unless that is set already)."""
    if address == LOCAL and "ray" not in sys.modules:
        os.environ.setdefault(_LOOPBACK_ENV, "0")
    # read when ray is imported: no absl failure-signal handler in this process (see _connect)
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        raise RayNotInstalled(str(e)) from None


@dataclass(frozen=True)
class Artifact:
    """An artifact as the driver names it: its file name, its path there and its sha256."""

    name: str
    path: str
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Artifact:
        return cls(path.name, str(path.resolve()), paths.sha256_file(path))

    def here(self) -> tuple[Path, str] | None:
        """The artifact on this machine and where it was found: at the driver's path ("path": a
        shared filesystem, or the driver's own machine), or in this machine's cache from an
        earlier install ("cache"); None if neither holds these exact bytes."""
        for p, where in ((Path(self.path), "path"), (self.cached(), "cache")):
            try:
                if p.is_file() and paths.sha256_file(p) == self.sha256:
                    return p, where
            except OSError:  # unreadable here: look further, or have the bytes sent
                pass
        return None

    def cached(self) -> Path:
        return paths.cache_root() / "ray" / f"{self.sha256}-{self.name}"

    def install(self, data: bytes) -> Path:
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ArtifactError(f"{self.name} sent by the driver does not match sha256 {self.sha256}")
        write_bytes_atomic(self.cached(), data)
        return self.cached()


class ProverActor:
    """Runs in a Ray worker process, one per node: the parsed zkey, `threads` proofs at once.
    It starts from the driver's paths; where they do not hold the right bytes, the driver sends
    the bytes to install() (a method call rather than constructor arguments: a restart starts
    from the paths, and finds the installed copy in the cache)."""

    def __init__(self, zkey: Artifact, wasm: Artifact, threads: int) -> None:
        self.zkey, self.wasm, self.threads = zkey, wasm, threads
        self._local = threading.local()
        self.prover: NativeProver | None = None
        self.wasm_path: Path | None = None
        self.via = ""  # how the zkey came: "path", "cache" or "bytes"
        z, w = zkey.here(), wasm.here()
        if z is not None and w is not None:
            self._load(z[0], w[0], z[1])

    def _load(self, zkey: Path, wasm: Path, via: str) -> None:
        self.prover = NativeProver(zkey)  # compiles the C library on first use on this node
        self.wasm_path, self.via = wasm, via

    def ready(self) -> dict[str, Any]:
        ray = ray_module()
        return {
            "pid": os.getpid(),
            "ip": ray.util.get_node_ip_address(),
            "via": self.via,
            "threads": self.threads,
            "loaded": self.prover is not None,
        }

    def install(self, zkey: bytes, wasm: bytes) -> dict[str, Any]:
        self._load(self.zkey.install(zkey), self.wasm.install(wasm), "bytes")
        return self.ready()

    def prove(self, job: Inputs | list[int]) -> Proof:
        """A proof of a witness, or of circuit inputs whose witness is computed here."""
        if self.prover is None or self.wasm_path is None:
            raise ArtifactError("the prover actor has no key loaded")
        if isinstance(job, Mapping):
            calc = getattr(self._local, "calc", None)
            if calc is None:  # a wasmtime store per thread: instances are not shared
                calc = self._local.calc = WitnessCalculator(self.wasm_path)
            job = calc.calculate(job)
        return self.prover.prove(job)


def _probe(address: str) -> None:
    """Fail fast (ClusterError) when nothing listens at a host:port cluster address."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(
            "--ray", f"a cluster address is HOST:PORT (as `ray start --head` prints it) or {LOCAL!r}, got {address!r}"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as e:
        raise ClusterError(f"no Ray cluster answers at {address} ({e.strerror or e})") from None


@dataclass
class _Actor:
    handle: Any
    node: str
    threads: int
    pid: int = 0
    ip: str = ""
    state: str = "starting"  # starting | live | recovering | dead
    ping: Any = None  # the ready() call of a start or a restart
    since: float = 0.0
    hung: bool = False  # killed for a job past its timeout: its failures are expected
    in_flight: int = 0
    restarts: int = 0

    def label(self) -> str:
        return f"{self.ip or self.node[:8]} pid {self.pid}"


@dataclass
class _Job:
    index: int
    payload: Inputs | list[int]
    tries: int = 0
    actor: _Actor | None = None
    deadline: float = 0.0


@dataclass
class RayProverPool:
    """Prove many positions of one circuit on a Ray cluster; see the module docstring.

    address: HOST:PORT of a running cluster (`ray start --head` prints it), or "auto" for a
    private Ray instance on this machine (127.0.0.1, `threads` CPUs or all of them), stopped at
    close(). A process already connected to Ray (ray.init) keeps its connection.
    threads: proofs at once per actor (default: the node's CPUs)."""

    keys: CircuitKeys
    address: str
    threads: int | None = None
    witness: str = "worker"
    status: TextIO | None = None
    job_timeout: float = JOB_TIMEOUT
    max_restarts: int = MAX_RESTARTS
    restarts: int = field(default=0, init=False)  # actors Ray restarted
    retried: int = field(default=0, init=False)  # jobs sent again after their actor was lost
    _actors: list[_Actor] = field(default_factory=list, init=False, repr=False)
    _initialized: bool = field(default=False, init=False, repr=False)
    _ray: Any = field(default=None, init=False, repr=False)
    _artifacts: tuple[Artifact, Artifact] | None = field(default=None, init=False, repr=False)
    _sent: tuple[Any, Any] | None = field(default=None, init=False, repr=False)  # bytes, once a node needs them
    _calc: WitnessCalculator | None = field(default=None, init=False, repr=False)
    _last_status: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.witness not in WITNESS_PLACES:
            raise InputError("witness", f"must be one of {', '.join(WITNESS_PLACES)}, got {self.witness!r}")
        self._ray = ray_module(self.address)

    def __enter__(self) -> RayProverPool:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _say(self, text: str) -> None:
        if self.status is not None:
            self.status.write(f"ray: {text}\n")
            self.status.flush()

    def _connect(self) -> None:
        ray = self._ray
        if ray.is_initialized():
            return
        # The driver also runs circuit witnesses (wasmtime), whose traps (a division by zero in a
        # hostile position) arrive as signals that wasmtime's handler turns into exceptions. ray.init
        # puts two handlers in front of it, absl's failure-signal handler and Python's faulthandler,
        # and either ends the process on the first trap (SIGFPE). Keep both out of the driver (absl's
        # is switched off before ray is imported, in ray_module); the workers keep theirs.
        faulthandler_was_on = faulthandler.is_enabled()
        try:
            if self.address == LOCAL:
                ray.init(
                    address="local",
                    num_cpus=self.threads,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="WARNING",
                )
            else:
                _probe(self.address)
                ray.init(address=self.address, log_to_driver=False, logging_level="WARNING")
            if not faulthandler_was_on:
                faulthandler.disable()  # restores the handlers it replaced: wasmtime's
        except (ConnectionError, RuntimeError, ValueError) as e:  # not an OSError of a file the user named
            where = "start a local Ray instance" if self.address == LOCAL else f"join the Ray cluster at {self.address}"
            raise ClusterError(
                f"could not {where}: {_cause(e)} (a cluster with token authentication: set "
                f"RAY_AUTH_MODE=token and its token, as Ray documents)"
            ) from None
        self._initialized = True
        _cluster_messages_to_stderr()

    def start(self) -> None:
        """Connect, ship the artifacts, start one actor per node and wait until each is ready."""
        ray = self._ray
        self._connect()
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
        if not nodes:
            raise ClusterError(f"the Ray cluster at {self.address} has no live node with a CPU")
        self._artifacts = (Artifact.of(self.keys.zkey), Artifact.of(self.keys.compiled.wasm))
        if self.witness == "driver":
            self._calc = WitnessCalculator(self.keys.compiled.wasm)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = ray.remote(ProverActor)
        for n in nodes:
            cpus = int(n["Resources"]["CPU"])
            threads = self.threads or cpus
            handle = remote.options(
                num_cpus=min(threads, cpus),
                max_concurrency=threads,
                max_restarts=self.max_restarts,
                max_task_retries=0,  # the pool retries a lost job itself, once, on any live actor
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            ).remote(*self._artifacts, threads)
            a = _Actor(handle, n["NodeID"], threads, ping=handle.ready.remote(), since=time.monotonic())
            self._actors.append(a)
        deadline = time.monotonic() + START_TIMEOUT
        errors = []
        for a in self._actors:
            try:
                info = ray.get(a.ping, timeout=max(0.1, deadline - time.monotonic()))
                if not info["loaded"]:  # this node does not see the driver's files: send the bytes
                    info = ray.get(
                        a.handle.install.remote(*self._bytes()), timeout=max(0.1, deadline - time.monotonic())
                    )
            except ray.exceptions.GetTimeoutError:
                errors.append(
                    f"node {a.node[:8]}: the prover actor did not start within {START_TIMEOUT:.0f} s "
                    f"(are its CPUs taken by other work?)"
                )
                self._bury(a)
                continue
            except ray.exceptions.RayError as e:
                errors.append(f"node {a.node[:8]}: the prover actor could not start: {_cause(e)}")
                self._bury(a)
                continue
            a.pid, a.ip, a.state, a.ping = info["pid"], info["ip"], "live", None
            self._say(
                f"actor on {a.ip} (pid {a.pid}): {a.threads} proving thread{'s' if a.threads != 1 else ''}, key {_VIA[info['via']]}"
            )
        for line in errors:
            self._say(line)
        if not any(a.state == "live" for a in self._actors):
            raise ClusterError("no prover actor started on the Ray cluster: " + "; ".join(errors))

    def _bytes(self) -> tuple[Any, Any]:
        """The artifacts' bytes, put in the object store on the first node that needs them."""
        if self._sent is None:
            assert self._artifacts is not None
            self._sent = (
                self._ray.put(self.keys.zkey.read_bytes()),
                self._ray.put(self.keys.compiled.wasm.read_bytes()),
            )
        return self._sent

    def _bury(self, a: _Actor) -> None:
        if a.state != "dead":
            a.state = "dead"
            self._ray.kill(a.handle, no_restart=True)

    def actors(self) -> list[dict[str, Any]]:
        """pid, ip, state, proofs in flight and restarts of each actor (for status and tests)."""
        return [
            {"pid": a.pid, "ip": a.ip, "state": a.state, "in_flight": a.in_flight, "restarts": a.restarts}
            for a in self._actors
        ]

    def _status(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.status is None or (not force and now - self._last_status < STATUS_EVERY):
            return
        self._last_status = now
        flights = ", ".join(
            f"{a.label()}: {a.in_flight}" + ("" if a.state == "live" else f" ({a.state})") for a in self._actors
        )
        self._say(f"{done} proven; in flight per actor: {flights}; restarts {self.restarts}")

    def prove_many(self, jobs: Iterable[Inputs], on_done: Callable[[int, Proof], None] | None = None) -> list[Proof]:
        """Proofs in the order of `jobs` (circuit inputs); on_done(index, proof) on this thread as
        each arrives. `jobs` is consumed lazily, at most two per proving thread ahead."""
        ray = self._ray
        source: Iterator[tuple[int, Inputs]] = enumerate(jobs)
        exhausted = False
        retry: deque[_Job] = deque()
        pending: dict[Any, _Job] = {}
        results: dict[int, Proof] = {}
        total = 0

        def next_job() -> _Job | None:
            nonlocal exhausted, total
            if retry:
                return retry.popleft()
            if exhausted:
                return None
            try:
                i, inputs = next(source)
            except StopIteration:
                exhausted = True
                return None
            total += 1
            return _Job(i, self._calc.calculate(inputs) if self._calc is not None else dict(inputs))

        while True:
            # hand out work: the least busy live actor first, two jobs per thread at most
            while True:
                live = [a for a in self._actors if a.state == "live" and a.in_flight < 2 * a.threads]
                if not live:
                    break
                job = next_job()
                if job is None:
                    break
                a = min(live, key=lambda x: x.in_flight / x.threads)
                job.actor, job.deadline = a, time.monotonic() + self.job_timeout
                a.in_flight += 1
                pending[a.handle.prove.remote(job.payload)] = job
            if not pending and exhausted and not retry:
                break  # every job done (an actor still restarting is not waited for)
            pings = {a.ping: a for a in self._actors if a.state == "recovering" and a.ping is not None}
            if not pending and not pings:
                if not any(a.state in ("live", "recovering") for a in self._actors):
                    raise ClusterError(
                        f"every prover actor on the Ray cluster is gone; "
                        f"{len(results)} of {total} proofs done (a rerun resumes)"
                    )
            refs = list(pending) + list(pings)
            ready, _ = ray.wait(refs, num_returns=1, timeout=_POLL) if refs else ([], [])
            if ready:  # everything else already finished too
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                if ref in pings:
                    self._recovered(pings[ref], ref)
                    continue
                job = pending.pop(ref)
                assert job.actor is not None
                job.actor.in_flight -= 1
                try:
                    proof = ray.get(ref, timeout=self.job_timeout)
                except ray.exceptions.RayTaskError as e:  # the proving itself failed: not retried
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, ZkMarginError):
                        raise cause from None
                    raise ClusterError(f"proving failed on {job.actor.label()}: {_cause(e)}") from None
                except ray.exceptions.RayError as e:  # the actor died or became unreachable
                    self._lost(job, retry, f"{type(e).__name__}")
                    continue
                results[job.index] = proof
                if on_done is not None:
                    on_done(job.index, proof)
            now = time.monotonic()
            for job in list(pending.values()):
                slow = job.actor
                assert slow is not None
                if now > job.deadline and slow.state == "live" and not slow.hung:
                    slow.hung = True
                    self._say(f"actor {slow.label()}: a proof took over {self.job_timeout:g} s; restarting it")
                    ray.kill(slow.handle, no_restart=False)  # its jobs fail and are retried
            for a in self._actors:
                if a.state == "recovering" and now - a.since > RESTART_TIMEOUT:
                    self._say(f"actor {a.label()} did not come back within {RESTART_TIMEOUT:.0f} s: dropped")
                    self._bury(a)
            self._status(len(results))
        self._status(len(results), force=True)
        return [results[i] for i in range(total)]

    def _lost(self, job: _Job, retry: deque[_Job], why: str) -> None:
        a = job.actor
        assert a is not None
        job.tries += 1
        if job.tries > 1:
            raise ClusterError(
                f"a proof failed twice on the Ray cluster (last on {a.label()}: {why}); "
                f"a rerun resumes where the scan stopped"
            )
        self.retried += 1
        retry.append(job)
        if a.state == "live":
            a.state, a.since, a.ping = "recovering", time.monotonic(), a.handle.ready.remote()
            self._say(f"actor {a.label()} lost ({why}); its jobs are retried, waiting for Ray to restart it")

    def _recovered(self, a: _Actor, ref: Any) -> None:
        ray = self._ray
        try:
            info = ray.get(ref, timeout=RESTART_TIMEOUT)
        except ray.exceptions.RayError as e:
            # the ping may race the death it follows: ask again until the restart window closes
            if a.restarts < self.max_restarts and time.monotonic() - a.since < RESTART_TIMEOUT:
                time.sleep(0.2)
                a.ping = a.handle.ready.remote()
                return
            self._say(f"actor {a.label()} is gone for good ({type(e).__name__}): dropped")
            self._bury(a)
            return
        if not info["loaded"]:  # restarted on a node without the files: send the bytes again
            a.ping = a.handle.install.remote(*self._bytes())
            return
        old = a.pid
        a.pid, a.ip, a.state, a.ping, a.hung = info["pid"], info["ip"], "live", None, False
        a.restarts += 1
        self.restarts += 1
        self._say(f"actor on {a.ip} restarted (pid {old} -> {a.pid})")

    def close(self) -> None:
        """End the actors, and the connection (and a local instance) if this pool made them."""
        ray = self._ray
        for a in self._actors:
            if a.state != "dead":
                a.state = "dead"
                try:
                    ray.kill(a.handle, no_restart=True)
                except Exception:  # the cluster may be gone already: nothing left to end
                    pass
        self._actors = []
        self._sent = None
        if self._initialized:
            ray.shutdown()
            self._initialized = False


def _cluster_messages_to_stderr() -> None:
    """Ray prints the cluster's error messages ("a worker died ...") on the driver's stdout, where
    `zkmargin scan --json` writes its report: send them to stderr, with the other diagnostics.
    (Ray's driver-side printer, replaced once per process; left alone if Ray has changed it.)"""
    try:
        worker = importlib.import_module("ray._private.worker")
    except ImportError:
        return
    original = getattr(worker, "print_to_stdstream", None)
    if not callable(original) or getattr(original, "zkmargin_stderr", False):
        return

    def to_stderr(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and data.get("pid") == "raylet":
            data = {**data, "is_err": True}
        return original(data, *args, **kwargs)

    to_stderr.zkmargin_stderr = True  # type: ignore[attr-defined]
    setattr(worker, "print_to_stdstream", to_stderr)  # noqa: B010  (a module the type checker cannot see into)


def _cause(e: BaseException) -> str:
    cause = getattr(e, "cause", None)
    text = str(cause if cause is not None else e).strip()
    return text.splitlines()[-1][:500] if text else type(e).__name__
