"""Hostile input: whatever the files contain, loaders and the bundle parser answer with a
value or an InputError (exit code 2 from the CLI), never another exception, never a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import cli
from zkmargin import perp
from zkmargin.bundle import bundle_from_json
from zkmargin.errors import InputError
from zkmargin.loaders import load_market, market_from_json, parse_json, position_from_json, prices_from_json

from .conftest import FIX

MARKET = load_market(FIX / "market.json")
PERP_MARKETS = perp.load_markets(FIX / "perp-markets.json")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["0", "-1", "1.5", "0x10", "1e30", str(2**128), "WETH", "USDC", "\u202e", "\x00"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["collateral", "debt", "salt", "WETH", "USDC", "price", "prices", "assets",
                                       "symbol", "decimals", "liquidationThreshold", "liquidationBonus", "version",
                                       "positions", "size", "entryPrice", "entryFunding", "format", "proof",
                                       "public_signals", "circuit", "statement", "x"]) | st.text(max_size=8),
                      children, max_size=5),
    max_leaves=25,
)


def _mutations(doc: Any) -> st.SearchStrategy[Any]:
    """A real document with one value replaced somewhere: closer to plausible attacks."""
    paths: list[list[Any]] = []

    def walk(v: Any, path: list[Any]) -> None:
        paths.append(path)
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

    return st.builds(apply, st.sampled_from(paths), json_values)


def _parsers() -> list[tuple[str, Any, Any]]:
    return [
        ("market", market_from_json, json.loads((FIX / "market.json").read_text())),
        ("prices", lambda d: prices_from_json(d, MARKET), json.loads((FIX / "prices.json").read_text())),
        ("position", lambda d: position_from_json(d, MARKET),
         json.loads((FIX / "position-liquidatable.json").read_text())),
        ("perp account", lambda d: perp.account_from_json(d, PERP_MARKETS),
         json.loads((FIX / "perp-account-healthy.json").read_text())),
        ("perp prices", lambda d: perp.quotes_from_json(d, PERP_MARKETS),
         json.loads((FIX / "perp-prices.json").read_text())),
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
        _only_input_errors(bundle_from_json, {"format": "zkmargin.bundle/1", "statement": "liquidation",
                                              "circuit": "liquidation_4", "proof": {}, "verification_key": {},
                                              "vkey_sha256": "", **value})


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
    res = CliRunner().invoke(cli, ["prove", str(pos), "--market", str(FIX / "market.json"), "--prices",
                                   str(FIX / "prices.json"), "-o", str(out), "--threshold", "0.0001"])
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
