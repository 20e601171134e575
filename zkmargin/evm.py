"""EVM backends: an in-process EVM (pyrevm, the default) and any JSON-RPC node (web3.py).

Both expose the same small surface (deploy, call, transact, timestamp) so that the
on-chain verification, gas measurement and contract tests run unchanged on either.
"""

from __future__ import annotations

import copy
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from eth_account import Account
from pyrevm import EVM, BlockEnv
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception

from .errors import InputError, ToolchainError, ZkMarginError
from .limits import RPC_TIMEOUT
from .proc import spawn, stop
from .toolchain import Toolchain

# A generous explicit limit: never eth_estimateGas for the verifier, which answers with a
# limit at which the pairing precompile runs out of gas and verifyProof returns false.
TX_GAS = 5_000_000
# anvil's first well-known development account (public key material; test use only).
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class Reverted(ZkMarginError):
    """A call or transaction reverted; `data` is the revert payload (custom error or reason)."""

    def __init__(self, data: bytes, detail: str = "") -> None:
        super().__init__(f"execution reverted (0x{data.hex()}){': ' + detail if detail else ''}")
        self.data = data


@dataclass(frozen=True)
class EventLog:
    """One log of a transaction: the emitting contract, its topics (topic 0 = the event's
    signature hash unless anonymous) and its data."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class TxResult:
    gas_used: int
    output: bytes
    logs: tuple[EventLog, ...] = ()


class Chain(Protocol):
    kind: str

    def deploy(self, bytecode: bytes, ctor_args: bytes = b"") -> str: ...

    def call(self, to: str, data: bytes) -> bytes: ...

    def transact(self, to: str, data: bytes) -> TxResult: ...

    def timestamp(self) -> int: ...


_REVERT = re.compile(r"output: (0x[0-9a-fA-F]*)")


class InProcessChain:
    """pyrevm: a fresh Cancun EVM in this process, no node needed."""

    kind = "pyrevm"
    SENDER = "0x" + "5a" * 20

    def __init__(self, timestamp: int | None = None) -> None:
        self.evm = EVM(spec_id="CANCUN")
        self.evm.set_balance(self.SENDER, 10**24)
        self._clock = [0]  # shared with the views of as_sender
        self.set_timestamp(int(time.time()) if timestamp is None else timestamp)

    def as_sender(self, sender: str) -> InProcessChain:
        """The same EVM, with calls and transactions sent from `sender` (given ether if it has none)."""
        view = copy.copy(self)
        view.SENDER = sender
        if self.evm.get_balance(sender) == 0:
            self.evm.set_balance(sender, 10**24)
        return view

    def set_timestamp(self, ts: int) -> None:
        self._clock[0] = ts
        self.evm.set_block_env(BlockEnv(number=1, timestamp=ts))

    def timestamp(self) -> int:
        return self._clock[0]

    def _guard(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except RuntimeError as e:
            m = _REVERT.search(str(e))
            if m:
                raise Reverted(bytes.fromhex(m.group(1)[2:])) from None
            raise Reverted(b"", str(e)) from None

    def deploy(self, bytecode: bytes, ctor_args: bytes = b"") -> str:
        return str(self._guard(self.evm.deploy, self.SENDER, bytecode + ctor_args, gas=30_000_000))

    def call(self, to: str, data: bytes) -> bytes:
        return bytes(self._guard(self.evm.message_call, self.SENDER, to, data, gas=TX_GAS, is_static=True))

    def transact(self, to: str, data: bytes) -> TxResult:
        out = self._guard(self.evm.message_call, self.SENDER, to, data, gas=TX_GAS)
        result = self.evm.result
        assert result is not None  # set by every message_call
        logs = tuple(
            EventLog(str(lg.address), tuple(bytes(t) for t in lg.data[0]), bytes(lg.data[1])) for lg in result.logs
        )
        return TxResult(result.gas_used, bytes(out), logs)


class RpcError(InputError):
    """The JSON-RPC node at --rpc-url did not answer (in time), or answered with an error."""

    def __init__(self, url: str, what: str, err: BaseException, timeout: float) -> None:
        detail = f"no answer within {timeout:g} s" if _is_timeout(err) else f"{type(err).__name__}: {str(err)[:300]}"
        super().__init__("--rpc-url", f"the JSON-RPC node at {url} failed {what} ({detail})")
        self.url = url


def _is_timeout(err: BaseException) -> bool:
    return isinstance(err, TimeoutError) or "timed out" in str(err).lower() or "timeout" in type(err).__name__.lower()


# Receipts can take a few blocks on a real network; each poll is still one bounded request.
RECEIPT_TIMEOUT = 120.0


class RpcChain:
    """Any JSON-RPC node through web3.py; transactions are signed locally with `private_key`.

    Every request gives up after `timeout` seconds and is not retried (web3's default retries
    five times, which made an unresponsive node hang a command for 5 minutes); a failure is an
    RpcError naming the URL."""

    kind = "rpc"

    def __init__(self, url: str, private_key: str | None = None, timeout: float = RPC_TIMEOUT) -> None:
        if not timeout > 0:
            raise InputError("--rpc-timeout", f"must be a positive number of seconds, got {timeout}")
        self.url, self.timeout = url, timeout
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
        try:
            self.account = Account.from_key(private_key) if private_key else None
        except (ValueError, TypeError):
            raise InputError("--private-key", "not a 32-byte hex private key") from None
        self.chain_id = self._rpc("eth_chainId", lambda: self.w3.eth.chain_id)

    def _rpc(self, what: str, fn: Callable[[], Any]) -> Any:
        """fn() (web3 calls), with every transport or node failure as an RpcError naming the URL."""
        try:
            return fn()
        except (ContractCustomError, ContractLogicError):
            raise  # a revert is an answer: callers decode it
        except (Web3Exception, OSError, ValueError) as e:  # requests' errors are OSErrors
            raise RpcError(self.url, what, e, self.timeout) from None

    def timestamp(self) -> int:
        return int(self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))["timestamp"])

    def _from(self) -> str:
        return self.account.address if self.account else "0x" + "00" * 20

    def call(self, to: str, data: bytes, block: str = "latest") -> bytes:
        tx: Any = {"to": Web3.to_checksum_address(to), "data": data, "from": self._from(), "gas": TX_GAS}
        try:
            return bytes(self._rpc("eth_call", lambda: self.w3.eth.call(tx, block)))  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError) as e:
            raise Reverted(_revert_bytes(e.data)) from None

    def _send(self, tx: dict[str, Any]) -> Any:
        if self.account is None:
            raise InputError("--private-key", "sending a transaction needs a private key (or ZKMARGIN_PRIVATE_KEY)")
        address = self.account.address
        tx = {
            **tx,
            "from": address,
            "chainId": self.chain_id,
            "gasPrice": self._rpc("eth_gasPrice", lambda: self.w3.eth.gas_price),
            "nonce": self._rpc(
                "eth_getTransactionCount", lambda: self.w3.eth.get_transaction_count(address, "pending")
            ),
        }
        signed = self.account.sign_transaction(tx)
        h = self._rpc("eth_sendRawTransaction", lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction))
        return self._rpc(
            "the transaction receipt", lambda: self.w3.eth.wait_for_transaction_receipt(h, timeout=RECEIPT_TIMEOUT)
        )

    def deploy(self, bytecode: bytes, ctor_args: bytes = b"") -> str:
        receipt = self._send({"data": bytecode + ctor_args, "gas": 15_000_000})
        if receipt["status"] != 1 or not receipt.get("contractAddress"):
            raise Reverted(b"", "deployment failed")
        return str(receipt["contractAddress"])

    def request(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC request (anvil_*, evm_* on a dev node); an error answer is an RpcError."""

        def ask() -> Any:
            answer = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
            if "error" in answer:
                raise ValueError(answer["error"].get("message", answer["error"]))
            return answer.get("result")

        return self._rpc(method, ask)

    def transact(self, to: str, data: bytes) -> TxResult:
        # surfaces the revert payload, which receipts do not carry; run in the pending block, as the
        # transaction will be (its timestamp matters to contracts that read block.timestamp)
        out = self.call(to, data, "pending")
        receipt = self._send({"to": Web3.to_checksum_address(to), "data": data, "gas": TX_GAS})
        if receipt["status"] != 1:
            raise Reverted(b"", "transaction reverted")
        logs = tuple(
            EventLog(str(lg["address"]), tuple(bytes(t) for t in lg["topics"]), bytes(lg["data"]))
            for lg in receipt["logs"]
        )
        return TxResult(int(receipt["gasUsed"]), out, logs)


def _revert_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return b""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def start_anvil(tc: Toolchain, timeout: float = 60.0) -> Iterator[str]:
    """Run anvil from node_modules on a free loopback port; yields its URL, stops it after."""
    port = free_port()
    proc = spawn(tc.argv("@foundry-rs/anvil", "--host", "127.0.0.1", "--port", str(port), "--silent"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ToolchainError(f"anvil exited with code {proc.returncode} before answering")
            try:
                _ = Web3(
                    Web3.HTTPProvider(url, request_kwargs={"timeout": 2}, exception_retry_configuration=None)
                ).eth.chain_id
                break
            except (Web3Exception, OSError, ValueError):
                if time.monotonic() > deadline:
                    raise ToolchainError(f"anvil did not answer on {url} within {timeout} s") from None
                time.sleep(0.2)
        yield url
    finally:
        stop(proc)
