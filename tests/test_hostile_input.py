"""Hostile input: whatever the files contain, loaders and the bundle parser answer with a
value or an InputError (exit code 2 from the CLI), never another exception, never a file.

The classes of issue 11 are generated for every file the CLI reads (market, prices, position,
perp markets/prices/account, bundle, vkey, manifest, scan positions file): nesting around
MAX_JSON_DEPTH and at 100000 (a SIGSEGV before the reader measured depth), integers around
MAX_NUMBER_CHARS and Python's 4300-digit int() limit, files around MAX_JSON_BYTES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkmargin import api, build, perp, registry, scan
from zkmargin.bundle import Bundle, bundle_from_json, decode_claim, load_bundle, vkey_hash
from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_NUMBER_CHARS
from zkmargin.loaders import (
    load_market,
    load_position,
    load_prices,
    market_from_json,
    parse_json,
    parse_threshold,
    position_from_json,
    prices_from_json,
)
from zkmargin.strictjson import json_path

from .conftest import FIX, REPO_ROOT

MARKET = load_market(FIX / "market.json")
PERP_MARKETS = perp.load_markets(FIX / "perp-markets.json")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["0", "-1", "1.5", "0x10", "1e30", str(2**128), "WETH", "USDC", "\u202e", "\x00"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "collateral",
                    "debt",
                    "salt",
                    "WETH",
                    "USDC",
                    "price",
                    "prices",
                    "assets",
                    "symbol",
                    "decimals",
                    "liquidationThreshold",
                    "liquidationBonus",
                    "version",
                    "positions",
                    "size",
                    "entryPrice",
                    "entryFunding",
                    "format",
                    "proof",
                    "public_signals",
                    "circuit",
                    "statement",
                    "x",
                    "quantums",
                    "usdc",
                    "fundingIndex",
                    "atomicResolution",
                    "priceExponent",
                    "rules",
                    "eModeCategories",
                    "collateralBitmap",
                    "eModeCategory",
                    "useAsCollateral",
                    "balances",
                    "liquidityIndex",
                    "variableBorrowIndex",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _mutations(doc: Any) -> st.SearchStrategy[Any]:
    """A real document with one value replaced somewhere: closer to plausible attacks."""
    found: list[list[Any]] = []

    def walk(v: Any, path: list[Any]) -> None:
        found.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, [*path, k])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, [*path, i])

    walk(doc, [])

    def apply(path: list[Any], value: Any) -> Any:
        out = json.loads(json.dumps(doc))
        if not path:
            return value
        cur = out
        for k in path[:-1]:
            cur = cur[k]
        cur[path[-1]] = value
        return out

    return st.builds(apply, st.sampled_from(found), json_values)


def _parsers() -> list[tuple[str, Any, Any]]:
    return [
        ("market", market_from_json, json.loads((FIX / "market.json").read_text())),
        ("prices", lambda d: prices_from_json(d, MARKET), json.loads((FIX / "prices.json").read_text())),
        (
            "position",
            lambda d: position_from_json(d, MARKET),
            json.loads((FIX / "position-liquidatable.json").read_text()),
        ),
        (
            "perp account",
            lambda d: perp.account_from_json(d, PERP_MARKETS),
            json.loads((FIX / "perp-account-healthy.json").read_text()),
        ),
        (
            "perp prices",
            lambda d: perp.quotes_from_json(d, PERP_MARKETS),
            json.loads((FIX / "perp-prices.json").read_text()),
        ),
    ]


def _only_input_errors(parse: Any, value: Any) -> None:
    try:
        parse(value)
    except InputError as e:
        assert e.field and str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_loaders_raise_only_input_errors(data: st.DataObject) -> None:
    for _, parse, doc in _parsers():
        _only_input_errors(parse, data.draw(json_values))
        _only_input_errors(parse, data.draw(_mutations(doc)))


@settings(max_examples=60, deadline=None)
@given(value=json_values)
def test_bundle_parser_raises_only_input_errors(value: Any) -> None:
    _only_input_errors(bundle_from_json, value)
    if isinstance(value, dict):
        _only_input_errors(
            bundle_from_json,
            {
                "format": "zkmargin.bundle/1",
                "statement": "liquidation",
                "circuit": "liquidation_4",
                "proof": {},
                "verification_key": {},
                "vkey_sha256": "",
                **value,
            },
        )


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_any_text_parses_or_is_an_input_error(text: str) -> None:
    try:
        parse_json(text, "file")
    except InputError as e:
        assert e.field


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_mutations(json.loads((FIX / "position-liquidatable.json").read_text())))
def test_cli_exit_2_and_no_file(tmp_path: Path, value: Any) -> None:
    pos = tmp_path / "pos.json"
    pos.write_text(json.dumps(value))
    out = tmp_path / "bundle.json"
    res = CliRunner().invoke(
        cli,
        [
            "prove",
            str(pos),
            "--market",
            str(FIX / "market.json"),
            "--prices",
            str(FIX / "prices.json"),
            "-o",
            str(out),
            "--threshold",
            "0.0001",
        ],
    )
    if res.exit_code != 0:  # most mutations are invalid; a valid one may still be healthy (exit 1)
        assert res.exit_code in (1, 2), res.output
        assert "Traceback" not in res.output
        assert not out.exists()
    out.unlink(missing_ok=True)


def test_unicode_digits_are_not_numbers() -> None:
    from zkmargin.groth16_format import parse_public_signals

    doc = json.loads((FIX / "position-liquidatable.json").read_text())
    doc["salt"] = "\u00b2"  # superscript two: str.isdigit() says yes, int() says no
    _only_input_errors(lambda d: position_from_json(d, MARKET), doc)
    with pytest.raises(InputError) as e:
        parse_public_signals(["1", "\u00b2"], 2)
    assert e.value.field == "public_signals[1]"


# --- the classes of issue 11, for every file a user hands zkmargin ---------------------------

# the generators: well-formed points (the bundle is parsed strictly when it is loaded)
_G2 = [
    [
        "10857046999023057135944570762232829481370756359578518086990519993285655852781",
        "11559732032986387107991004021392285783925812861821192530917403151452391805634",
    ],
    [
        "8495653923123431417604973247489272438418190587263600148770280649306958101930",
        "4082367875863433681332203403145435568316851327593401208105741076214120093531",
    ],
    ["1", "0"],
]
N_PUB = len(registry.get("liquidation_4").public_signal_names())
_VKEY = {
    "protocol": "groth16",
    "curve": "bn128",
    "nPublic": N_PUB,
    "vk_alpha_1": ["1", "2", "1"],
    "vk_beta_2": _G2,
    "vk_gamma_2": _G2,
    "vk_delta_2": _G2,
    "vk_alphabeta_12": [[["1", "2"]] * 3] * 2,
    "IC": [["1", "2", "1"]] * (N_PUB + 1),
}
# A well-formed bundle (its proof is not valid: nothing here verifies one). The pinned key and
# the manifest below never match it, so verify_bundle answers without any pairing.
SYNTH_BUNDLE = {
    "format": "zkmargin.bundle/1",
    "statement": "liquidation",
    "circuit": "liquidation_4",
    "public_signals": [str(i) for i in range(N_PUB)],
    "proof": {"pi_a": ["1", "2", "1"], "pi_b": _G2, "pi_c": ["1", "2", "1"], "protocol": "groth16", "curve": "bn128"},
    "verification_key": _VKEY,
    "vkey_sha256": vkey_hash(_VKEY),
    "setup": {},
    "context": {},
}
BUNDLE = bundle_from_json(SYNTH_BUNDLE)
ONE = json.loads((FIX / "position-liquidatable.json").read_text())


def _fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def _use_bundle(b: Bundle) -> None:
    """What the CLI does with a bundle it loaded: its claim, calldata and a verification."""
    decode_claim(b).to_json()
    api.bundle_calldata(b).encoded()
    api.verify_bundle(b, verifier="reference")


# Loaders that check every value of their file: any over-long number in them is an error. Bundles,
# keys and manifests may carry one in a place only verification reads (which then fails).
EVERY_VALUE_CHECKED = {"market", "prices", "position", "perp markets", "perp prices", "perp account"}


# (name, `what` the reader names the file by, a real document, load(path))
LOADERS: list[tuple[str, str, Any, Callable[[Path], Any]]] = [
    ("market", "market", _fixture("market.json"), load_market),
    ("prices", "prices", _fixture("prices.json"), lambda p: load_prices(p, MARKET)),
    ("position", "position", ONE, lambda p: load_position(p, MARKET)),
    ("perp markets", "perp markets", _fixture("perp-markets.json"), perp.load_markets),
    ("perp prices", "perp prices", _fixture("perp-prices.json"), lambda p: perp.load_quotes(p, PERP_MARKETS)),
    (
        "perp account",
        "perp account",
        _fixture("perp-account-healthy.json"),
        lambda p: perp.load_account(p, PERP_MARKETS),
    ),
    ("bundle", "bundle", SYNTH_BUNDLE, lambda p: _use_bundle(load_bundle(p))),
    ("vkey", "vkey", {**_VKEY, "nPublic": N_PUB + 1}, lambda p: api.verify_bundle(BUNDLE, vkey=p)),
    (
        "manifest",
        "manifest",
        {"format": build.MANIFEST_FORMAT, "circuit": "liquidation_4", "vkey_sha256": "0" * 64},
        lambda p: api.verify_bundle(BUNDLE, manifest=p),
    ),
    ("scan positions file", "positions", {"positions": {"alice": ONE, "bob": ONE}}, lambda p: scan._sources(p, MARKET)),
]
LOADER_IDS = [name for name, *_ in LOADERS]
HOLE = "\u0000hole\u0000"


def _paths(doc: Any) -> list[list[Any]]:
    out: list[list[Any]] = []

    def walk(v: Any, path: list[Any]) -> None:
        out.append(path)
        for k, x in v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ():
            walk(x, [*path, k])

    walk(doc, [])
    return out


def _with_hole(doc: Any, path: list[Any]) -> tuple[str, Any]:
    """The document as text with HOLE where `path` was, and the value that was there."""
    if not path:
        return json.dumps(HOLE), doc
    out = json.loads(json.dumps(doc))
    cur = out
    for k in path[:-1]:
        cur = cur[k]
    old, cur[path[-1]] = cur[path[-1]], HOLE
    return json.dumps(out), old


def _depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _field(what: str, path: list[Any]) -> str:
    f = ""
    for k in path:
        f = json_path(f, k)
    return f or what


def _load_text(load: Callable[[Path], Any], text: str) -> Any:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "input.json"
        p.write_text(text)
        return load(p)


def _value_or_input_error(load: Callable[[Path], Any], text: str) -> InputError | None:
    """None when the file loads, the InputError when it does not; anything else fails the test."""
    try:
        _load_text(load, text)
    except InputError as e:
        assert e.field and str(e)
        return e
    return None


DEPTHS = st.sampled_from(
    [
        0,
        1,
        MAX_JSON_DEPTH - 3,
        MAX_JSON_DEPTH - 2,
        MAX_JSON_DEPTH - 1,
        MAX_JSON_DEPTH,
        MAX_JSON_DEPTH + 1,
        1000,
        100_000,
    ]
)


@pytest.mark.parametrize(("name", "what", "doc", "load"), LOADERS, ids=LOADER_IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), extra=DEPTHS, objects=st.booleans())
def test_nesting_depth(
    name: str, what: str, doc: Any, load: Callable[[Path], Any], data: st.DataObject, extra: int, objects: bool
) -> None:
    path = data.draw(st.sampled_from(_paths(doc)))
    text, old = _with_hole(doc, path)
    inner = json.dumps(old)
    wrapped = ('{"k": ' * extra + inner + "}" * extra) if objects else ("[" * extra + inner + "]" * extra)
    total = len(path) + extra + _depth(old)
    err = _value_or_input_error(load, text.replace(json.dumps(HOLE), wrapped))
    if total > MAX_JSON_DEPTH:
        assert err is not None and err.field == what and f"nested deeper than {MAX_JSON_DEPTH}" in err.detail
    else:
        assert err is None or "nested" not in str(err)


LENGTHS = st.sampled_from(
    [1, MAX_NUMBER_CHARS - 1, MAX_NUMBER_CHARS, MAX_NUMBER_CHARS + 1, 4299, 4300, 4301, 20_000]
) | st.integers(min_value=1, max_value=2 * MAX_NUMBER_CHARS)


@pytest.mark.parametrize(("name", "what", "doc", "load"), LOADERS, ids=LOADER_IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), digits=LENGTHS, as_string=st.booleans(), negative=st.booleans())
def test_integer_length(
    name: str,
    what: str,
    doc: Any,
    load: Callable[[Path], Any],
    data: st.DataObject,
    digits: int,
    as_string: bool,
    negative: bool,
) -> None:
    path = data.draw(st.sampled_from(_paths(doc)))
    text, _ = _with_hole(doc, path)
    number = ("-" if negative else "") + "9" * digits
    err = _value_or_input_error(load, text.replace(json.dumps(HOLE), json.dumps(number) if as_string else number))
    if len(number) > MAX_NUMBER_CHARS and not as_string:  # the reader refuses the token, naming where it is
        assert err is not None and err.field == _field(what, path) and "digits" in err.detail
    if len(number) > MAX_NUMBER_CHARS and name in EVERY_VALUE_CHECKED:
        assert err is not None


SIZES = st.sampled_from([MAX_JSON_BYTES - 1, MAX_JSON_BYTES, MAX_JSON_BYTES + 1, 2 * MAX_JSON_BYTES])


@pytest.mark.parametrize(
    ("name", "what", "doc", "load"),
    [x for x in LOADERS if x[1] != "positions"],
    ids=[i for i in LOADER_IDS if i != "scan positions file"],
)
@settings(max_examples=4, deadline=None)
@given(size=SIZES)
def test_file_size(name: str, what: str, doc: Any, load: Callable[[Path], Any], size: int) -> None:
    text = json.dumps(doc)
    err = _value_or_input_error(load, text + " " * (size - len(text)))
    assert (err is not None and err.field == what and "limit" in err.detail) == (size > MAX_JSON_BYTES)


def test_scan_positions_file_has_a_larger_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "positions.json"
    text = json.dumps({"positions": {"alice": ONE}})
    p.write_text(text + " " * (MAX_JSON_BYTES + 1 - len(text)))
    assert [n for n, _ in scan._sources(p, MARKET)] == ["alice"]


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"\x00" * 100, bytes(range(256)), b"\xef\xbb\xbf{}", b""])
@pytest.mark.parametrize(("name", "what", "doc", "load"), LOADERS, ids=LOADER_IDS)
def test_binary_garbage(
    name: str, what: str, doc: Any, load: Callable[[Path], Any], content: bytes, tmp_path: Path
) -> None:
    p = tmp_path / "input.json"
    p.write_bytes(content)
    with pytest.raises(InputError) as e:
        load(p)
    assert e.value.field


@pytest.mark.parametrize(("name", "what", "doc", "load"), LOADERS, ids=LOADER_IDS)
def test_not_a_regular_file(name: str, what: str, doc: Any, load: Callable[[Path], Any], tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    for p in (fifo, tmp_path):
        if p == tmp_path and what == "positions":  # a directory is a scan source: the FIFO in it is one error
            [(stem, err)] = scan._sources(p, MARKET)
            assert stem == "fifo" and isinstance(err, InputError) and "not a regular file" in str(err)
            continue
        with pytest.raises(InputError) as e:
            load(p)
        assert e.value.field == what


@pytest.mark.parametrize(
    "text", ["1e999999999", "-1e999999999", "1e-999999999", "9" * 5000, "0." + "0" * 5000 + "1", "1." + "0" * 5000]
)
def test_threshold_text_never_overflows(text: str) -> None:
    try:
        assert parse_threshold(text) == 10**18  # only "1.000...0" is a threshold here
    except InputError as e:
        assert e.field == "--threshold"


def test_api_values_past_4300_digits_are_input_errors() -> None:
    doc = json.loads(json.dumps(ONE))
    doc["collateral"]["WETH"] = 10**5000  # a Python caller may pass one; str() of it raises
    with pytest.raises(InputError, match="collateral.WETH"):
        position_from_json(doc, MARKET)


def test_a_float_anywhere_in_a_bundle_is_named() -> None:
    text = json.dumps(SYNTH_BUNDLE).replace(f'"nPublic": {N_PUB}', f'"nPublic": {N_PUB}.5')
    with pytest.raises(InputError) as e:
        parse_json(text, "bundle")
    assert e.value.field == "verification_key.nPublic"


# --- the crash itself, through the CLI, in a separate process --------------------------------


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "zkmargin.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _hostile_cli_cases(bad: Path, good_bundle: Path, out: Path) -> list[list[str]]:
    m, pr = str(FIX / "market.json"), str(FIX / "prices.json")
    pm, pp, pa = str(FIX / "perp-markets.json"), str(FIX / "perp-prices.json"), str(FIX / "perp-account-healthy.json")
    b = str(bad)
    return [
        ["health", b, "--market", m, "--prices", pr],
        ["health", str(FIX / "position-liquidatable.json"), "--market", b, "--prices", pr],
        ["health", str(FIX / "position-liquidatable.json"), "--market", m, "--prices", b],
        ["prove", b, "--market", m, "--prices", pr, "-o", str(out / "never.json")],
        ["commit", b, "--market", m],
        ["perp", "health", b, "--markets", pm, "--prices", pp],
        ["perp", "health", pa, "--markets", b, "--prices", pp],
        ["perp", "health", pa, "--markets", pm, "--prices", b],
        ["verify", b],
        ["calldata", b],
        ["verify", str(good_bundle), "--vkey", b],
        ["verify", str(good_bundle), "--manifest", b],
        ["verify-batch", str(good_bundle), "--vkey", b],
        ["scan", b, "--market", m, "--prices", pr, "-o", str(out / "scan")],
    ]


# Runs every case with click's CliRunner inside one child process: a SIGSEGV kills the child
# (exit -11 here) whichever loader hit it; each case must end in exit 2 without an exception.
_DRIVER = """
import json, sys
from click.testing import CliRunner
from zkmargin.cli.main import cli
out = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(cli, args)
    out.append({"args": args, "code": r.exit_code, "output": r.output,
                "exception": None if r.exception is None or isinstance(r.exception, SystemExit)
                else repr(r.exception)})
print(json.dumps(out))
"""

HOSTILE = {
    "deep": "[" * 100_000,
    "deep-objects": '{"a":' * 100_000,
    "huge-integer": '{"collateral": {"WETH": ' + "9" * 5000 + '}, "debt": {}, "salt": "1"}',
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_cli_exit_2_without_traceback_in_a_real_process(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(HOSTILE[kind])
    good = tmp_path / "bundle.json"
    good.write_text(json.dumps(SYNTH_BUNDLE))
    # the console entry point itself, as a user runs it
    res = _cli(
        ["health", str(bad), "--market", str(FIX / "market.json"), "--prices", str(FIX / "prices.json")], tmp_path
    )
    assert res.returncode == 2, res.stderr[-2000:]  # 139 was the SIGSEGV
    assert "Traceback" not in res.stderr and "bad.json" in res.stderr
    # then every command that reads a file, each file in turn
    cases = _hostile_cli_cases(bad, good, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(cases)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    for r in json.loads(child.stdout):
        assert r["code"] == 2 and r["exception"] is None, r
        assert "bad.json" in r["output"] and "Traceback" not in r["output"], r
    assert not (tmp_path / "never.json").exists()
