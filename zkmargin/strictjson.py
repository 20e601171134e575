"""The one reader for JSON that users hand to zkmargin: positions, markets, prices, perp files,
bundles, verification keys, manifests and scan sources.

Its limits hold whatever the file contains, because Python's own guards do not: importing
py_ecc raises sys.setrecursionlimit to 100000, deeper than the C stack, so json.loads on 100000
'[' crashes the process (SIGSEGV) before RecursionError fires; and int() refuses more than 4300
digits with a ValueError. So the file size is bounded before reading, the nesting depth is
measured on the text before json.loads sees it, and number tokens reach Python as text and are
bounded there. Every refusal is an InputError naming the file or the JSON path of the value.
"""

from __future__ import annotations

import json
import os
import re
import stat
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any

from .errors import InputError
from .limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_NUMBER_CHARS

# A JSON string, or an unterminated one running to the end of the text. Matching the
# unterminated case too keeps the scan linear: a pattern that could fail after reading to the
# end would be retried from every later quote (quadratic on '"\"\"\"...').
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_TOKENS = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_DECIMAL = re.compile(r"-?[0-9]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")


def json_path(prefix: str, key: str | int) -> str:
    """prefix.key or prefix[i]; a key that is empty, long or unprintable is shown quoted (JSON-escaped)."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    shown = key if _PLAIN_KEY.match(key) else json.dumps(key[:64])
    return f"{prefix}.{shown}" if prefix else shown


def shorten(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


def int_from_text(text: str, field: str, expected: str, *, hex_ok: bool = False) -> int:
    """An integer written as text (a JSON number token, a decimal string or, with hex_ok, a
    0x hex string), at most MAX_NUMBER_CHARS characters: the one place user text becomes an int."""
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise InputError(
            field,
            f"must be {expected}, got a string of {len(s)} characters (an integer has at most {MAX_NUMBER_CHARS})",
        )
    if _DECIMAL.match(s):  # ASCII digits only: int() would also take "²", "1_0" and " 1 "
        return int(s)
    if hex_ok and _HEX.match(s):
        return int(s, 16)
    raise InputError(field, f"must be {expected}, got the string {shorten(text)!r}")


def kind_of(v: Any) -> str:
    """How a JSON value is described in an error ("an object", "a string", ...)."""
    if isinstance(v, float):  # from API callers: files never hold one (the reader refuses them)
        return f"the non-integer number {v!r}"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


def bounded_int(value: Any, field: str, lo: int, hi: int, *, hex_ok: bool = False, what: str = "") -> int:
    """An integer in [lo, hi], given as a JSON integer or a decimal (or, with hex_ok, 0x hex)
    string; InputError naming `field` (and `what` it must be) otherwise."""
    rng = what or f"an integer in [{lo}, {hi}]"
    if isinstance(value, bool) or value is None:
        raise InputError(field, f"must be {rng}, got {kind_of(value)}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        n = int_from_text(value, field, rng, hex_ok=hex_ok)
    else:
        raise InputError(field, f"must be {rng}, got {kind_of(value)}")
    if not lo <= n <= hi:
        # str() of an int past 4300 digits raises (an API caller may pass one)
        shown = str(n) if n.bit_length() <= 1024 else f"an integer of {n.bit_length()} bits"
        raise InputError(field, f"must be {rng}, got {shown}")
    return n


def check_depth(text: str, what: str, limit: int = MAX_JSON_DEPTH) -> None:
    """InputError unless arrays and objects nest at most `limit` deep (brackets inside
    strings do not count). Runs on the text, iteratively, before any parser recurses."""
    if text.count("[") + text.count("{") <= limit:
        return
    # Strings are blanked first: their brackets are not structure. The tokenization agrees with
    # JSON's up to the first syntax error, and the parser never goes past that point.
    steps = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).encode("ascii").translate(_STEPS)
    if max(accumulate(array("b", steps)), default=0) <= limit:
        return
    depth = 0
    for m in _TOKENS.finditer(text):  # slow path, only to say where
        c = text[m.start()]
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise InputError(what, f"JSON nested deeper than {limit} levels (line {line} column {col})")
        elif c in "]}":
            depth -= 1
    raise InputError(what, f"JSON nested deeper than {limit} levels")  # unreachable: the fast path agrees


class _Refused:
    """Stands in for a value the reader refuses, so that the error can name where it was."""

    def __init__(self, reason: str, key: str | None = None) -> None:
        self.reason = reason
        self.key = key


def _path_of(doc: Any, target: object) -> str | None:
    """The JSON path of `target` (by identity) in doc, "" for the root; iterative."""
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        v, path = stack.pop()
        if v is target:
            return path
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        stack.extend((x, json_path(path, k)) for k, x in reversed(list(items)))
    return None


def parse_json(text: str, what: str) -> Any:
    """Strict, bounded JSON: nesting at most MAX_JSON_DEPTH, integers at most MAX_NUMBER_CHARS
    characters, no fraction or exponent (amounts are integers; as text they never round), no
    NaN/Infinity, no duplicate keys. Refusals name the JSON path (or `what` for the file)."""
    check_depth(text, what)
    refused: list[_Refused] = []

    def refuse(reason: str, key: str | None = None) -> _Refused:
        r = _Refused(reason, key)
        refused.append(r)
        return r

    def integer(token: str) -> int | _Refused:
        if len(token) > MAX_NUMBER_CHARS:
            return refuse(f"a number of {len(token)} digits (integers have at most {MAX_NUMBER_CHARS} characters)")
        return int(token)

    def non_integer(token: str) -> _Refused:
        return refuse(
            f"must be an integer (a JSON integer or a decimal string), got the non-integer number {shorten(token)}"
        )

    def constant(name: str) -> _Refused:
        return refuse(f"{name} is not allowed")

    def obj(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Refused:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                return refuse("duplicate key", k)
            out[k] = v
        return out

    try:
        doc = json.loads(
            text, object_pairs_hook=obj, parse_int=integer, parse_float=non_integer, parse_constant=constant
        )
    except json.JSONDecodeError as e:
        raise InputError(what, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:  # not expected after check_depth; kept so that it can never escape
        raise InputError(what, "JSON nested too deeply") from None
    if refused:
        first = refused[0]
        path = _path_of(doc, first) or ""
        field = json_path(path, first.key) if first.key is not None else path
        raise InputError(field or what, first.reason)
    return doc


def read_json(path: str | Path, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """parse_json of a regular file of at most max_bytes bytes of UTF-8; errors name the file
    (source "<what> file <path>")."""
    source = f"{what} file {path}"
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused below)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise InputError(what, f"cannot read {path}: {e.strerror}", source=source) from None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InputError(what, "not a regular file", source=source)
            if st.st_size > max_bytes:
                raise InputError(what, f"{st.st_size} bytes, more than the limit of {_size(max_bytes)}", source=source)
            raw = f.read(max_bytes + 1)  # bounded even if the file grows meanwhile
    except OSError as e:
        raise InputError(what, f"cannot read {path}: {e.strerror}", source=source) from None
    if len(raw) > max_bytes:
        raise InputError(what, f"more than the limit of {_size(max_bytes)}", source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(what, f"not UTF-8 text (byte {e.start})", source=source) from None
    try:
        return parse_json(text, what)
    except InputError as e:
        raise InputError(e.field, e.detail, source=source) from None


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"
