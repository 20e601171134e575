"""One parsing for every backend: each encoding case (malformed, well-formed but wrong, valid) is
run against every verification backend, which must all give the case's answer: the same
InputError field, or all "invalid", or all "valid".

A backend is registered once in BACKENDS (a function vkey, public signals, proof -> Verification);
every case then runs against it.
"""

from __future__ import annotations

import collections
import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import optimized_curve as oc

from zkmargin import groth16, groth16_fast, groth16_format, native, onchain, paths, snarkjs_verify
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.errors import InputError
from zkmargin.evm import InProcessChain
from zkmargin.field import Q, R
from zkmargin.groth16 import Verification
from zkmargin.groth16_format import parse_batch, parse_proof, parse_public_signals, parse_vkey
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.settings import Settings
from zkmargin.statements import lending
from zkmargin.toolchain import Toolchain

from .test_hostile_input import _mutations, json_values

Verify = Callable[[Any, Any, Any], Verification]


def _evm(tc: Toolchain) -> Verify:
    """snarkjs's Solidity verifier on pyrevm: one deployment per key as given."""
    chain = InProcessChain()
    deployed: dict[str, str] = {}

    def verify(vkey: Any, public: Any, proof: Any) -> Verification:
        h = paths.sha256_json(vkey)
        if h not in deployed:
            deployed[h] = onchain.deploy_verifier(chain, vkey, tc)
        return onchain.verify_onchain(
            chain, deployed[h], Bundle("liquidation", "liquidation_4", public, proof, vkey, h)
        )

    return verify


BACKENDS: dict[str, Callable[[Toolchain], Verify]] = {
    "reference": lambda tc: groth16.verify,
    "native-c": lambda tc: lambda v, s, p: groth16_fast.verify(groth16_fast.PreparedKey(v), s, p, "c"),
    "native-python": lambda tc: lambda v, s, p: groth16_fast.verify(groth16_fast.PreparedKey(v), s, p, "python"),
    "snarkjs": lambda tc: lambda v, s, p: snarkjs_verify.verify(v, s, p, tc),
    "evm": _evm,
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tc: Toolchain) -> Verify:
    return BACKENDS[request.param](tc)


@dataclass
class Inputs:
    vkey: Any
    public: Any
    proof: Any
    other_public: list[str]  # another valid proof's signals


@dataclass(frozen=True)
class Case:
    name: str
    edit: Callable[[Inputs], None]
    expect: str  # "valid", "invalid", or the field of the InputError


def _answer(verify: Verify, i: Inputs) -> str:
    try:
        v = verify(i.vkey, i.public, i.proof)
    except InputError as e:
        return e.field
    return "valid" if v.valid else "invalid"


# --- point helpers ---


def _add_q(v: str) -> str:
    return str(int(v) + Q)


def _jacobian(p: list[str], z: int) -> list[str]:
    """The same point with z != 1 as snarkjs (ffjavascript) reads it: x = X/Z^2, y = Y/Z^3."""
    x, y = int(p[0]), int(p[1])
    return [str(x * z * z % Q), str(y * z**3 % Q), str(z)]


def _homogeneous(p: list[str], z: int) -> list[str]:
    """The same point in homogeneous coordinates (x = X/Z), as py_ecc keeps it."""
    return [str(int(p[0]) * z % Q), str(int(p[1]) * z % Q), str(z)]


def _jacobian2(p: list[list[str]], z: int) -> list[list[str]]:
    return [[str(int(c) * z * z % Q) for c in p[0]], [str(int(c) * z**3 % Q) for c in p[1]], [str(z), "0"]]


def _twist_point_off_g2() -> list[list[str]]:
    """A point on the twist E'(Fp2) outside G2 (the twist has cofactor 2q - r)."""
    rng = random.Random(7)
    while True:
        x = FQ2([rng.randrange(Q), rng.randrange(Q)])
        y2 = x**3 + oc.b2
        y = y2 ** ((Q**2 + 15) // 32)
        if y * y == y2 and not oc.is_inf(oc.multiply((x, y, FQ2.one()), R)):
            return [[str(c) for c in x.coeffs], [str(c) for c in y.coeffs], ["1", "0"]]


OFF_G2 = _twist_point_off_g2()
OFF_TWIST = [OFF_G2[0], [OFF_G2[1][0], str((int(OFF_G2[1][1]) + 1) % Q)], ["1", "0"]]


def _set(where: str, index: tuple[Any, ...], value: Any) -> Callable[[Inputs], None]:
    """An edit setting inputs.<where>[index...] to value (a function of the old value if callable)."""

    def edit(i: Inputs) -> None:
        obj = getattr(i, where)
        if not index:
            setattr(i, where, value(obj) if callable(value) else value)
            return
        for k in index[:-1]:
            obj = obj[k]
        obj[index[-1]] = value(obj[index[-1]]) if callable(value) else value

    return edit


def _pop(where: str, *index: Any) -> Callable[[Inputs], None]:
    def edit(i: Inputs) -> None:
        obj = getattr(i, where)
        for k in index[:-1]:
            obj = obj[k]
        obj.pop(index[-1])

    return edit


def _both(*edits: Callable[[Inputs], None]) -> Callable[[Inputs], None]:
    def edit(i: Inputs) -> None:
        for e in edits:
            e(i)

    return edit


def _proof(index: tuple[Any, ...], value: Any) -> Callable[[Inputs], None]:
    return _set("proof", index, value)


def _vkey(index: tuple[Any, ...], value: Any) -> Callable[[Inputs], None]:
    return _set("vkey", index, value)


def _signal(index: int, value: Any) -> Callable[[Inputs], None]:
    return _set("public", (index,), value)


def _swap_a_c(i: Inputs) -> None:
    i.proof["pi_a"], i.proof["pi_c"] = i.proof["pi_c"], i.proof["pi_a"]


def _other_signals(i: Inputs) -> None:
    i.public = list(i.other_public)


CASES = [
    Case("valid", lambda i: None, "valid"),
    Case(
        "proof without protocol and curve (as rapidsnark writes it)",
        _both(_pop("proof", "protocol"), _pop("proof", "curve")),
        "valid",
    ),
    Case("vk_alphabeta_12 absent (ignored everywhere)", _pop("vkey", "vk_alphabeta_12"), "valid"),
    Case("vk_alphabeta_12 garbage (ignored everywhere)", _vkey(("vk_alphabeta_12",), [["x"]]), "valid"),
    # well-formed, and wrong: a pairing check fails
    Case("A and C swapped", _swap_a_c, "invalid"),
    Case("another valid proof's signals", _other_signals, "invalid"),
    Case("pi_a negated (on the curve)", _proof(("pi_a", 1), lambda v: str(Q - int(v))), "invalid"),
    Case("signal + 1", _signal(13, lambda v: str(int(v) + 1)), "invalid"),
    Case("vkey delta := gamma", lambda i: i.vkey.__setitem__("vk_delta_2", i.vkey["vk_gamma_2"]), "invalid"),
    # non-canonical coordinates: snarkjs reduced them, the EVM precompile refuses them
    Case("pi_a.x + q", _proof(("pi_a", 0), _add_q), "proof.pi_a[0]"),
    Case("pi_a.y + q", _proof(("pi_a", 1), _add_q), "proof.pi_a[1]"),
    Case("pi_c.x + q", _proof(("pi_c", 0), _add_q), "proof.pi_c[0]"),
    Case("pi_b.x.c1 + q", _proof(("pi_b", 0, 1), _add_q), "proof.pi_b[0][1]"),
    Case("pi_b.y.c0 + q", _proof(("pi_b", 1, 0), _add_q), "proof.pi_b[1][0]"),
    Case("pi_a.x = q (0 + q)", _proof(("pi_a", 0), str(Q)), "proof.pi_a[0]"),
    # projective encodings of the same point: the EVM calldata has no z, so none is accepted
    Case(
        "pi_a z = 2, same point (Jacobian, as snarkjs reads it)",
        _proof(("pi_a",), lambda p: _jacobian(p, 2)),
        "proof.pi_a[2]",
    ),
    Case("pi_a z = 2, same point (homogeneous)", _proof(("pi_a",), lambda p: _homogeneous(p, 2)), "proof.pi_a[2]"),
    Case("pi_c z = q - 1, same point", _proof(("pi_c",), lambda p: _jacobian(p, Q - 1)), "proof.pi_c[2]"),
    Case("pi_b z = 2, same point", _proof(("pi_b",), lambda p: _jacobian2(p, 2)), "proof.pi_b[2]"),
    Case("pi_b z = [1, 1]", _proof(("pi_b", 2), ["1", "1"]), "proof.pi_b[2]"),
    # the point at infinity, in each encoding
    Case("pi_a z = 0 with arbitrary x, y", _proof(("pi_a", 2), "0"), "proof.pi_a[2]"),
    Case("pi_a = [0, 1, 0] (snarkjs's infinity)", _proof(("pi_a",), ["0", "1", "0"]), "proof.pi_a[2]"),
    Case("pi_a = (0, 0) affine (the EVM's infinity)", _proof(("pi_a",), ["0", "0", "1"]), "proof.pi_a"),
    Case("pi_c = [0, 1, 0]", _proof(("pi_c",), ["0", "1", "0"]), "proof.pi_c[2]"),
    Case("pi_b = snarkjs's infinity", _proof(("pi_b",), [["0", "0"], ["1", "0"], ["0", "0"]]), "proof.pi_b[2]"),
    Case("pi_b = (0, 0) affine", _proof(("pi_b",), [["0", "0"], ["0", "0"], ["1", "0"]]), "proof.pi_b"),
    # off the curve, off the subgroup
    Case("pi_a.x + 1 (off the curve)", _proof(("pi_a", 0), lambda v: str(int(v) + 1)), "proof.pi_a"),
    Case("pi_c = (1, 3) (off the curve)", _proof(("pi_c",), ["1", "3", "1"]), "proof.pi_c"),
    Case("pi_b off the twist", _proof(("pi_b",), OFF_TWIST), "proof.pi_b"),
    Case("pi_b on the twist, outside G2", _proof(("pi_b",), OFF_G2), "proof.pi_b"),
    Case("pi_b with its Fp2 halves swapped (EIP-197 order)", _proof(("pi_b", 0), lambda r: r[::-1]), "proof.pi_b"),
    # shapes and keys
    Case("pi_a of 2 coordinates", _proof(("pi_a",), lambda p: p[:2]), "proof.pi_a"),
    Case("pi_a of 4 coordinates", _proof(("pi_a",), lambda p: [*p, "1"]), "proof.pi_a"),
    Case("pi_b row of 3", _proof(("pi_b", 0), lambda r: [*r, "0"]), "proof.pi_b[0]"),
    Case("pi_b missing", _pop("proof", "pi_b"), "proof.pi_b"),
    Case("proof with an extra key", _proof(("publicSignals",), []), "proof.publicSignals"),
    Case("proof protocol plonk", _proof(("protocol",), "plonk"), "proof.protocol"),
    Case("proof curve bls12381", _proof(("curve",), "bls12381"), "proof.curve"),
    Case("proof is a list", _set("proof", (), lambda p: [p["pi_a"], p["pi_b"], p["pi_c"]]), "proof"),
    # how numbers are written
    Case("hex coordinate (snarkjs reads it)", _proof(("pi_a", 0), lambda v: hex(int(v))), "proof.pi_a[0]"),
    Case("leading zero", _proof(("pi_a", 0), lambda v: "0" + v), "proof.pi_a[0]"),
    Case('z = "01"', _proof(("pi_a", 2), "01"), "proof.pi_a[2]"),
    Case("negative coordinate (x - q)", _proof(("pi_a", 0), lambda v: str(int(v) - Q)), "proof.pi_a[0]"),
    Case("plus sign", _proof(("pi_a", 0), lambda v: "+" + v), "proof.pi_a[0]"),
    Case("unicode superscript digit", _proof(("pi_a", 2), "\u00b9"), "proof.pi_a[2]"),
    Case("arabic-indic digits", _proof(("pi_a", 2), "\u0661"), "proof.pi_a[2]"),
    Case("5000 digits", _proof(("pi_a", 0), "7" * 5000), "proof.pi_a[0]"),
    Case("JSON integer instead of a string", _proof(("pi_a", 0), int), "proof.pi_a[0]"),
    Case("JSON integer z", _proof(("pi_a", 2), 1), "proof.pi_a[2]"),
    Case("float", _proof(("pi_a", 2), 1.0), "proof.pi_a[2]"),
    Case("surrounding space", _proof(("pi_a", 0), lambda v: f" {v}"), "proof.pi_a[0]"),
    Case("trailing newline", _proof(("pi_a", 0), lambda v: f"{v}\n"), "proof.pi_a[0]"),
    Case("underscores (Python's int() reads them)", _proof(("pi_a", 2), "0_1"), "proof.pi_a[2]"),
    Case("empty string", _proof(("pi_a", 0), ""), "proof.pi_a[0]"),
    Case("null", _proof(("pi_a", 0), None), "proof.pi_a[0]"),
    Case("true for 1", _proof(("pi_a", 2), True), "proof.pi_a[2]"),
    # public signals
    Case("signal + r", _signal(0, lambda v: str(int(v) + R)), "public_signals[0]"),
    Case("signal = r", _signal(5, str(R)), "public_signals[5]"),
    Case("signal as a JSON integer", _signal(3, int), "public_signals[3]"),
    Case("signal negative", _signal(3, "-1"), "public_signals[3]"),
    Case("signal with a leading zero", _signal(3, lambda v: "0" + v), "public_signals[3]"),
    Case("signal unicode digit", _signal(3, "\u00b2"), "public_signals[3]"),
    Case("signal of 5000 digits", _signal(3, "1" * 5000), "public_signals[3]"),
    Case("signal hex", _signal(3, lambda v: hex(int(v))), "public_signals[3]"),
    Case("one signal missing", _pop("public", -1), "public_signals"),
    Case("one signal extra", _set("public", (), lambda p: [*p, "0"]), "public_signals"),
    Case("signals not a list", _set("public", (), lambda p: {"0": p[0]}), "public_signals"),
    # verification keys
    Case("extra IC entry", _vkey(("IC",), lambda ic: [*ic, ic[1]]), "vkey.IC"),
    Case("IC entry missing", _pop("vkey", "IC", -1), "vkey.IC"),
    Case("nPublic + 1", _vkey(("nPublic",), lambda n: n + 1), "vkey.IC"),
    Case("nPublic - 1", _vkey(("nPublic",), lambda n: n - 1), "vkey.IC"),
    Case(
        "IC entry and nPublic dropped (a key with one input less)",
        _both(_pop("vkey", "IC", -1), _vkey(("nPublic",), lambda n: n - 1)),
        "public_signals",
    ),
    Case("nPublic as a string", _vkey(("nPublic",), str), "vkey.nPublic"),
    Case("nPublic true", _vkey(("nPublic",), True), "vkey.nPublic"),
    Case("nPublic negative", _vkey(("nPublic",), -1), "vkey.nPublic"),
    Case("nPublic missing", _pop("vkey", "nPublic"), "vkey.nPublic"),
    Case("vkey protocol plonk", _vkey(("protocol",), "plonk"), "vkey.protocol"),
    Case("vkey curve bls12381", _vkey(("curve",), "bls12381"), "vkey.curve"),
    Case("vkey with an unknown key", _vkey(("vk_alpha_beta",), []), "vkey.vk_alpha_beta"),
    Case("vkey is a list", _set("vkey", (), lambda v: list(v)), "vkey"),
    Case("vk_alpha_1 = [0, 1, 0]", _vkey(("vk_alpha_1",), ["0", "1", "0"]), "vkey.vk_alpha_1[2]"),
    Case("IC[3] = [0, 1, 0]", _vkey(("IC", 3), ["0", "1", "0"]), "vkey.IC[3][2]"),
    Case("IC[0] = (0, 0)", _vkey(("IC", 0), ["0", "0", "1"]), "vkey.IC[0]"),
    Case("IC[1] off the curve", _vkey(("IC", 1, 1), lambda v: str(int(v) + 1)), "vkey.IC[1]"),
    Case("IC[2].y + q", _vkey(("IC", 2, 1), _add_q), "vkey.IC[2][1]"),
    Case("vk_beta_2 outside G2", _vkey(("vk_beta_2",), OFF_G2), "vkey.vk_beta_2"),
    Case("vk_gamma_2.x.c0 + q", _vkey(("vk_gamma_2", 0, 0), _add_q), "vkey.vk_gamma_2[0][0]"),
    Case("vk_delta_2 z = 2, same point", _vkey(("vk_delta_2",), lambda p: _jacobian2(p, 2)), "vkey.vk_delta_2[2]"),
    Case("vk_delta_2 = infinity", _vkey(("vk_delta_2",), [["0", "0"], ["1", "0"], ["0", "0"]]), "vkey.vk_delta_2[2]"),
]


@pytest.fixture(scope="module")
def other_public(keys: Callable[[str], CircuitKeys], tc: Toolchain, market: Market, prices: PriceSnapshot) -> list[str]:
    keys("liquidation_4")
    pos = Position({"WETH": 10 * 10**18}, {"USDC": 22001 * 10**6}, 501)
    return lending.prove_liquidation(pos, market, prices, settings=Settings(toolchain=tc)).public_signals


def test_cases_are_distinct() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_backend_gives_the_same_answer(
    case: Case, backend: Verify, bundle: Bundle, other_public: list[str]
) -> None:
    inputs = Inputs(copy.deepcopy(bundle.vkey), list(bundle.public_signals), copy.deepcopy(bundle.proof), other_public)
    case.edit(inputs)
    assert _answer(backend, inputs) == case.expect


# --- the parser itself ---


def test_parsed_values_reencode_to_snarkjs_json(bundle: Bundle) -> None:
    assert parse_proof(bundle.proof).to_json() == bundle.proof  # what snarkjs (and the native prover) write
    key = parse_vkey(bundle.vkey, n_public=len(bundle.public_signals))
    assert key.to_json() == {k: v for k, v in bundle.vkey.items() if k != "vk_alphabeta_12"}
    assert parse_vkey(key.to_json()) == key and parse_proof(parse_proof(bundle.proof).to_json()) == parse_proof(
        bundle.proof
    )
    assert parse_public_signals(bundle.public_signals, key.n_public) == [int(s) for s in bundle.public_signals]


def test_the_circuit_count_pins_npublic(bundle: Bundle) -> None:
    with pytest.raises(InputError) as e:
        parse_vkey(bundle.vkey, n_public=len(bundle.public_signals) + 1)
    assert e.value.field == "vkey.nPublic" and f"{len(bundle.public_signals) + 1} public signals" in e.value.detail


def test_boundaries() -> None:
    assert parse_public_signals(["0", str(R - 1)], 2) == [0, R - 1]
    for bad in (str(R), "00", "-0", "0" * 79):
        with pytest.raises(InputError):
            parse_public_signals([bad], 1)
    assert parse_public_signals(["1" + "0" * 75], None) == [10**75]


def test_batch_names_the_item(bundle: Bundle) -> None:
    key = groth16_fast.PreparedKey(bundle.vkey)
    bad = copy.deepcopy(bundle.proof)
    bad["pi_b"] = OFF_G2
    for engine in ("c", "python"):
        with pytest.raises(InputError) as e:
            groth16_fast.verify_batch(
                key, [(bundle.public_signals, bundle.proof), (bundle.public_signals, bad)], engine
            )  # type: ignore[arg-type]
        assert e.value.field == "items[1].proof.pi_b"


def _one_by_one(items: list[tuple[Any, Any]], n_public: int) -> Any:
    """What parsing the items one after the other gives: the values, or the first error."""
    out = []
    for i, (public, proof) in enumerate(items):
        try:
            out.append((parse_public_signals(public, n_public), parse_proof(proof)))
        except InputError as e:
            return (f"items[{i}].{e.field}", e.detail)
    return out


def _at_once(items: list[tuple[Any, Any]], n_public: int, threads: int) -> Any:
    try:
        return parse_batch(items, n_public, threads)
    except InputError as e:
        return (e.field, e.detail)


def test_batch_parse_equals_parsing_one_by_one(bundle: Bundle, other_public: list[str]) -> None:
    """parse_batch tests the B points' G2 membership after the other checks, all at once: its
    answer must still be the first error in order (a B outside G2 before a later malformed item,
    or before a malformed C of its own proof), or the same values."""
    n = len(bundle.public_signals)
    edited = []
    for case in CASES:
        i = Inputs(copy.deepcopy(bundle.vkey), list(bundle.public_signals), copy.deepcopy(bundle.proof), other_public)
        case.edit(i)
        if i.vkey == bundle.vkey:  # the batch is of one key: the proof and signal cases
            edited.append((i.public, i.proof))
    off_g2_then_bad_c = copy.deepcopy(bundle.proof)
    off_g2_then_bad_c["pi_b"], off_g2_then_bad_c["pi_c"] = OFF_G2, ["1", "3", "1"]
    edited.append((bundle.public_signals, off_g2_then_bad_c))
    good = (bundle.public_signals, bundle.proof)
    rng = random.Random(16)
    batches = [[good] * 3, [], [good, edited[-1], edited[0]]]
    batches += [[rng.choice([good, good, *edited]) for _ in range(rng.randint(1, 6))] for _ in range(60)]
    key = groth16_fast.PreparedKey(bundle.vkey)
    for items in batches:
        want = _one_by_one(items, n)
        valid = isinstance(want, list) and all(groth16_fast.verify(key, *item, "c").valid for item in items)
        for threads in (1, 2):
            assert _at_once(items, n, threads) == want, items
            assert _verified_fast(key, items, threads) == (valid if isinstance(want, list) else want), items
        _packed_as_parsed(items, n, want)


class _Signals(list[str]):
    """A list by isinstance, not by type: the parser takes it, pack_batch leaves it to the parser."""


def test_a_batch_of_other_container_types_goes_the_parsers_way(bundle: Bundle) -> None:
    key = groth16_fast.PreparedKey(bundle.vkey)
    items: list[tuple[Any, Any]] = [(_Signals(bundle.public_signals), collections.OrderedDict(bundle.proof))] * 2
    assert groth16_format.pack_batch(items, len(bundle.public_signals)) is None
    assert groth16_fast.verify_batch(key, items, "c").valid
    assert not groth16_fast.verify_batch(
        key, [*items, (_Signals(["1"] * len(bundle.public_signals)), bundle.proof)], "c"
    ).valid


def _verified_fast(key: groth16_fast.PreparedKey, items: list[tuple[Any, Any]], threads: int) -> Any:
    """verify_batch on the C engine (pack_batch, then the points tested in C): valid, or the error."""
    try:
        return groth16_fast.verify_batch(key, items, "c", threads).valid
    except InputError as e:
        return (e.field, e.detail)


def _packed_as_parsed(items: list[tuple[Any, Any]], n: int, want: Any) -> None:
    """pack_batch accepts whatever parses (the same values, in the C engine's layout), and what it
    accepts of the rest fails only the point tests it leaves to the C engine."""
    packed = groth16_format.pack_batch(items, n)
    if isinstance(want, list):
        assert packed is not None and packed.n == len(want)
        assert packed.proofs == b"".join(groth16_fast._proof_blob(p) for _, p in want)
        assert packed.publics == b"".join(v.to_bytes(32, "little") for pub, _ in want for v in pub)
    elif packed is not None:
        assert want[1].startswith(("is not on", "is (0, 0)")) or want[1].endswith(groth16_format._NOT_IN_G2), want


@pytest.mark.parametrize("reader", ["c", "python"])
def test_pack_batch_refuses_what_parsing_refuses(reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutated proofs and signals: pack_batch packs exactly the parsed values, or (None) leaves
    the item to parse_batch, except for faults of the point tests, which the C engine runs; with
    its C reader of decimals and with the Python one (used without the library)."""
    if reader == "python":
        monkeypatch.setattr(groth16_format.native, "available", lambda: False)

    @settings(max_examples=150, deadline=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        proof = data.draw(_mutations(_PROOF))
        public = data.draw(
            st.one_of(st.lists(st.one_of(_SIGNAL_TEXTS, _BOUND_TEXTS), min_size=2, max_size=2), json_values)
        )
        items = [(["1", "2"], _PROOF), (public, proof)]
        _packed_as_parsed(items, 2, _one_by_one(items, 2))

    check()


_SIGNAL_TEXTS = st.one_of(
    st.integers(0, 2 * R).map(str),
    st.sampled_from(["0", "00", "01", "", ",", "1,2", "-1", "+1", "\u00b2", " 1", "1\n", str(R - 1), str(R), "9" * 79]),
    st.text(alphabet="0123456789,", max_size=6),
)


_BOUND_TEXTS = st.sampled_from(
    [str(v) for v in (Q - 1, Q, R - 1, R, (Q + R) // 2, 2**256 - 1, 2**256, 10**77, 10**78 - 1, 2**64, 10**19)]
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(_SIGNAL_TEXTS, _BOUND_TEXTS), max_size=6), n_q=st.integers(0, 6))
def test_c_decimal_reader_equals_the_python_rules(texts: list[str], n_q: int) -> None:
    """native.parse_decimals (pack_batch's reader, in C) accepts exactly what groth16_format's
    rules accept (q the bound of the first n_q values, r of the rest), with the same values."""
    n_q = min(n_q, len(texts))

    def python() -> bytes | None:
        try:
            return b"".join(
                groth16_format._decimal(s, "v", Q if i < n_q else R, "bound").to_bytes(32, "little")
                for i, s in enumerate(texts)
            )
        except InputError:
            return None

    assert native.parse_decimals(",".join(texts).encode(), len(texts), n_q) == python()


@settings(max_examples=150, deadline=None)
@given(signals=st.lists(_SIGNAL_TEXTS, max_size=5))
def test_public_signals_at_once_equal_one_by_one(signals: list[str]) -> None:
    """parse_public_signals checks a list of strings in one pass when it can: same values, and
    the same first error as the check of each signal in turn."""

    def one_by_one() -> Any:
        try:
            return [groth16_format._decimal(s, f"public_signals[{i}]", R, "r") for i, s in enumerate(signals)]
        except InputError as e:
            return e.field

    try:
        got: Any = parse_public_signals(signals, None)
    except InputError as e:
        got = e.field
    assert got == one_by_one()


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_parsers_answer_a_value_or_an_input_error(data: st.DataObject) -> None:
    value = data.draw(json_values)
    for parse in (parse_proof, parse_vkey, lambda v: parse_public_signals(v, None)):
        try:
            parse(value)
        except InputError as e:
            assert e.field


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_real_proofs_parse_or_are_input_errors(data: st.DataObject) -> None:
    doc = data.draw(_mutations(_PROOF))
    try:
        parse_proof(doc)
    except InputError as e:
        assert e.field.startswith("proof")


# A fixed valid proof (BN254 generators: A = G1, B = G2, C = G1), for property tests that cannot use fixtures.
_G1 = oc.normalize(oc.G1)
_G2 = oc.normalize(oc.G2)
_PROOF = {
    "pi_a": [str(_G1[0]), str(_G1[1]), "1"],
    "pi_b": [[str(c) for c in _G2[0].coeffs], [str(c) for c in _G2[1].coeffs], ["1", "0"]],
    "pi_c": [str(_G1[0]), str(_G1[1]), "1"],
    "protocol": "groth16",
    "curve": "bn128",
}
