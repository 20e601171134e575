"""Verifiable encryption of notes to their owner and the keepers (issue #15 item 1):
circuits/lib/note_seal.circom's SealedNote(N, K) against its model zkmargin/pool/sealing.py.

The circuit tests compile a main that exposes what the pool will publish (commitment, keeper key,
ephemeral key, ciphertexts) as public inputs constrained equal to SealedNote's outputs, and show
that nothing but the committed opening, sealed to the committed owner key and the given keeper
key, satisfies it: the strict witness generator refuses and an attacker's (lenient) witness fails
the R1CS.
"""

from __future__ import annotations

import random

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from zkmargin import registry, solidity
from zkmargin.errors import InputError
from zkmargin.evm import InProcessChain, Reverted
from zkmargin.field import R
from zkmargin.pool import babyjub, cipher, sealing
from zkmargin.pool.babyjub import BASE8, IDENTITY, L, Point
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.keys import KeeperKeys, OwnerKeys
from zkmargin.pool.note import DOMAIN_NOTE, Note, owner_tag
from zkmargin.pool.sealing import open_note_for_keeper, open_sealed, seal_note
from zkmargin.pool.store import NoteCreated
from zkmargin.poseidon import poseidon
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue

from .test_pool_cipher import GENERATOR, ORDER8, Built, _compile, _refused

RNG_SEED = 20261129
OWNER = OwnerKeys(bytes(range(32)))
KEEPER = KeeperKeys(bytes(range(1, 33)))
OTHER_KEEPER = KeeperKeys(bytes(range(2, 34)))
DEV_KEEPER_SECRET = DEV_KEEPER.secret


def _note(rng: random.Random, n: int = 2, keys: OwnerKeys = OWNER) -> Note:
    return Note(
        tuple(rng.randrange(2**128) for _ in range(n)),
        tuple(rng.randrange(2**128) for _ in range(n)),
        rng.randrange(2**n),
        owner_tag(keys.spending_key),
        rng.randrange(R),
        keys.viewing_public,
    )


def with_view(note: Note, view: Point) -> Note:
    return Note(note.scaled_collateral, note.scaled_debt, note.collateral_flags, note.owner_tag, note.salt, view)


def _event(opening: Note, seal: sealing.NoteSeal, leaf: int = 0) -> NoteCreated:
    return NoteCreated("0x" + "00" * 32, leaf, opening.commitment, leaf, seal.boxes())


# --- the model -----------------------------------------------------------------------------


def test_layout_and_domain() -> None:
    o = _note(random.Random(RNG_SEED))
    n = o
    assert DOMAIN_NOTE == int.from_bytes(b"zkmargin/pool/note/v2", "big")
    assert o.fields() == [
        n.owner_tag,
        n.salt,
        n.collateral_flags,
        *n.scaled_collateral,
        *n.scaled_debt,
        *o.viewing_key,
    ]
    assert o.commitment == poseidon([DOMAIN_NOTE, *o.fields()])
    assert len(o.fields()) == sealing.message_length(2) == 9
    # at N = 2 the viewing key costs no ciphertext element: 7 and 9 elements both pad to 9
    assert cipher.ciphertext_length(9) == cipher.ciphertext_length(7) == 10
    assert Note.from_fields(o.fields()) == o
    # the viewing key is bound: another V, another commitment
    assert with_view(n, KEEPER.public).commitment != o.commitment


def test_owner_and_keeper_open_the_same_opening() -> None:
    o = _note(random.Random(RNG_SEED + 1))
    seal, inputs = seal_note(o, [KEEPER.public], ephemeral_secret=12345)
    assert seal.ephemeral == babyjub.public_key(12345)
    assert len(seal.ciphertexts) == 2 and all(len(ct) == 10 for ct in seal.ciphertexts)
    ev = _event(o, seal)
    assert open_note_for_keeper(ev, KEEPER) == o
    assert open_sealed(ev, OWNER.viewing_secret) == o
    assert open_note_for_keeper(ev, OTHER_KEEPER) is None
    # the boxes are zk-kit boxes, owner's first (the wallet's encryptedOpening order)
    assert cipher.open_box(seal.boxes()[0], OWNER.viewing_secret, 9) == o.fields()
    assert cipher.open_box(seal.boxes()[1], KEEPER.secret, 9) == o.fields()
    assert inputs["keeperKey"] == list(KEEPER.public) and inputs["ephemeralPublicKey"] == list(seal.ephemeral)
    assert seal.public_signals() == [*seal.ephemeral, *seal.ciphertexts[0], *seal.ciphertexts[1]]


def test_keeper_reads_every_note_of_a_scenario() -> None:
    """Three owners, eight notes of one and two reserves, two keepers registered: each keeper
    opens every note; each owner exactly its own; nobody else anything."""
    rng = random.Random(RNG_SEED + 2)
    owners = [OwnerKeys(bytes([i]) * 32) for i in (7, 8, 9)]
    keepers = [KEEPER, OTHER_KEEPER]
    stranger = KeeperKeys(bytes([99]) * 32)
    events, notes = [], []
    for leaf in range(8):
        keys = owners[leaf % 3]
        o = _note(rng, 1 + leaf % 2, keys)
        seal, _ = seal_note(o, [k.public for k in keepers])
        events.append(_event(o, seal, leaf))
        notes.append((keys, o))
    for k in keepers:
        assert [open_note_for_keeper(ev, k) for ev in events] == [o for _, o in notes]
    assert all(open_note_for_keeper(ev, stranger) is None for ev in events)
    for keys in owners:
        mine = [open_sealed(ev, keys.viewing_secret) for ev in events]
        assert mine == [o if k is keys else None for k, o in notes]


def test_keeper_ignores_boxes_that_do_not_match_the_commitment() -> None:
    rng = random.Random(RNG_SEED + 3)
    o, other = _note(rng), _note(rng)
    seal, _ = seal_note(o, [KEEPER.public])
    # another note's valid boxes under this commitment: they open, but do not hash to it
    other_seal, _ = seal_note(other, [KEEPER.public])
    assert open_note_for_keeper(NoteCreated("0x", 0, o.commitment, 0, other_seal.boxes()), KEEPER) is None
    # one ciphertext element + 1: fails authentication
    for i in range(10):
        ct = list(seal.ciphertexts[1])
        ct[i] = (ct[i] + 1) % R
        bad = sealing.NoteSeal(seal.ephemeral, (seal.ciphertexts[0], tuple(ct)))
        assert open_note_for_keeper(_event(o, bad), KEEPER) is None
    # a malformed ephemeral key, no boxes, a box of another length
    bad_e = sealing.NoteSeal((1, 2), seal.ciphertexts)
    assert open_note_for_keeper(_event(o, bad_e), KEEPER) is None
    assert open_note_for_keeper(NoteCreated("0x", 0, o.commitment, 0, ()), KEEPER) is None
    short = cipher.SealedBox(seal.ephemeral, 0, seal.ciphertexts[1][:7])
    assert open_note_for_keeper(NoteCreated("0x", 0, o.commitment, 0, (short,)), KEEPER) is None


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (IDENTITY, "identity"),
        ((1, 2), "not on Baby Jubjub"),
        (ORDER8, "prime-order subgroup"),
        (babyjub.add(BASE8, ORDER8), "prime-order subgroup"),
        ((R, 1), "not a field element"),
    ],
)
def test_keeper_keys_are_checked_as_the_pool_registers_them(key: Point, why: str) -> None:
    with pytest.raises(InputError, match=why):
        sealing.check_keeper_keys([key])
    with pytest.raises(InputError, match=why):
        seal_note(_note(random.Random(1)), [KEEPER.public, key])


def test_seal_refusals() -> None:
    o = _note(random.Random(RNG_SEED + 4))
    with pytest.raises(InputError, match="at least one keeper"):
        seal_note(o, [])
    for e in (0, L):
        with pytest.raises(InputError, match="ephemeralSecret"):
            seal_note(o, [KEEPER.public], ephemeral_secret=e)
    with pytest.raises(InputError, match="viewingKey"):
        with_view(o, (1, 2))
    with pytest.raises(InputError, match="N <= 5"):
        Note((0,) * 6, (0,) * 6, 0, 1, 2, OWNER.viewing_public)
    with pytest.raises(InputError, match="2N \\+ 5"):
        Note.from_fields([0] * 8)


def test_a_small_order_owner_key_is_sealed_again() -> None:
    """An owner may commit to any V on the curve (the circuit checks no subgroup): whoever spends
    the note (a keeper liquidating it) must still be able to seal the successor to that V."""
    v = babyjub.add(OWNER.viewing_public, ORDER8)
    o = with_view(_note(random.Random(5)), v)
    seal, _ = seal_note(o, [KEEPER.public], ephemeral_secret=77)
    assert open_note_for_keeper(_event(o, seal), KEEPER) == o


# --- the circuit ---------------------------------------------------------------------------

K = 2  # the owner's viewing key and one keeper key


def _checked_main(n: int, k: int) -> str:
    c = cipher.ciphertext_length(sealing.message_length(n))
    return f"""
include "circuits/lib/note_seal.circom";
template Checked(N, K) {{
    signal input commitment;
    signal input keeperKey[K - 1][2];
    signal input ephemeralPublicKey[2];
    signal input ciphertext[K][{c}];
    signal input ownerTag;
    signal input salt;
    signal input collateralFlags;
    signal input scaledCollateral[N];
    signal input scaledDebt[N];
    signal input viewKey[2];
    signal input ephemeralSecret;
    component s = SealedNote(N, K);
    s.ownerTag <== ownerTag;
    s.salt <== salt;
    s.collateralFlags <== collateralFlags;
    s.scaledCollateral <== scaledCollateral;
    s.scaledDebt <== scaledDebt;
    s.viewKey <== viewKey;
    s.keeperKey <== keeperKey;
    s.ephemeralSecret <== ephemeralSecret;
    s.commitment === commitment;
    s.ephemeralPublicKey === ephemeralPublicKey;
    s.ciphertext === ciphertext;
}}
component main {{public [commitment, keeperKey, ephemeralPublicKey, ciphertext]}} = Checked({n}, {k});
"""


@pytest.fixture(scope="module")
def checked(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _compile(tc, tmp_path_factory.mktemp("note-seal"), _checked_main(2, K))


def _inputs(o: Note, keeper: Point = KEEPER.public, eph: int = 4242) -> dict[str, InputValue]:
    _, sealed = seal_note(o, [keeper], ephemeral_secret=eph)
    return {
        **sealed,
        "commitment": o.commitment,
        "ownerTag": o.owner_tag,
        "salt": o.salt,
        "collateralFlags": o.collateral_flags,
        "scaledCollateral": list(o.scaled_collateral),
        "scaledDebt": list(o.scaled_debt),
        "viewKey": list(o.viewing_key),
    }


def _ok(b: Built, inputs: dict[str, InputValue]) -> None:
    assert b.calc is not None
    assert b.r1cs.failing_constraints(b.calc.calculate(inputs)) == []


@pytest.mark.slow  # compiles circuits with circom2
@pytest.mark.parametrize("eph", [1, L - 1, 4242])
def test_circuit_accepts_the_models_seal(checked: Built, eph: int) -> None:
    """The honest witness satisfies every constraint: commitment, ephemeral key and both
    ciphertexts equal the model's (hence zk-kit's: tests/test_pool_cipher.py)."""
    rng = random.Random(RNG_SEED + eph % 1000)
    _ok(checked, _inputs(_note(rng), eph=eph))
    # a small-order owner key on the curve is accepted and equals the model's seal
    o = _note(rng)
    _ok(checked, _inputs(with_view(o, babyjub.add(o.viewing_key, ORDER8)), eph=eph))


@pytest.mark.slow  # compiles circuits with circom2
def test_circuit_refuses_a_ciphertext_that_is_not_the_committed_note(checked: Built) -> None:
    rng = random.Random(RNG_SEED + 10)
    o = _note(rng)
    honest = _inputs(o)
    _ok(checked, honest)
    ct = list(honest["ciphertext"])  # type: ignore[arg-type]
    for i in range(len(ct)):  # every element of the owner's and the keeper's ciphertext
        bad = list(ct)
        bad[i] = (bad[i] + 1) % R
        _refused(checked, {**honest, "ciphertext": bad})
    # another (valid) keeper key than the one the pool supplies, ciphertexts unchanged
    _refused(checked, {**honest, "keeperKey": list(OTHER_KEEPER.public)})
    # the ciphertexts of another message (another note, honestly sealed) under this commitment
    other = _inputs(_note(rng))
    _refused(checked, {**honest, "ciphertext": other["ciphertext"], "ephemeralPublicKey": other["ephemeralPublicKey"]})
    # this note's ciphertexts with another opening (the salt + 1) in the witness
    _refused(checked, {**honest, "salt": (o.salt + 1) % R})
    # another ephemeral key than the published one
    _refused(checked, {**honest, "ephemeralPublicKey": list(babyjub.public_key(5))})


@pytest.mark.slow  # compiles circuits with circom2
def test_circuit_binds_the_owner_key_to_the_commitment(checked: Built) -> None:
    """A liquidator cannot seal the successor to a key of its choice: the owner box is sealed to
    the V inside the commitment. Sealing honestly to another V gives another commitment; keeping
    the commitment and swapping V fails, even with the ciphertexts recomputed for the new V."""
    o = _note(random.Random(RNG_SEED + 11))
    honest = _inputs(o)
    mine = babyjub.public_key(777)  # a key the attacker holds
    forged = _inputs(with_view(o, mine))
    assert forged["commitment"] != honest["commitment"]
    _refused(checked, {**forged, "commitment": honest["commitment"]})
    # V off the curve: refused by BabyCheck even with a consistent commitment
    off = (GENERATOR[0], (GENERATOR[1] + 1) % R)
    assert not babyjub.is_on_curve(off)
    assert checked.calc is not None
    lenient = {**honest, "viewKey": list(off)}
    lenient["commitment"] = poseidon([DOMAIN_NOTE, *o.fields()[:-2], *off])
    w = checked.calc.calculate(lenient, lenient=True)
    assert checked.r1cs.failing_constraints(w)


# SealedNote(N, K) compiled alone (circom --O2); derivation at N = 2:
#   NoteCiphertexts(9, K) 4,763 + 3,607 (K - 1) (tests/test_pool_cipher.py; 9 elements pad like 7 and 8)
#   - 3 per recipient: the nonce is the constant 0, so each cipher's first permutation has one more
#     constant input and its first-round S-box (3 constraints) is free
#   + the commitment Poseidon(10) 456 (the tag constant: 3 (8 x 11 + 66) - 3 x 2)
#   + BabyCheck(V) 3 (x^2, y^2, the curve equation)
#   K = 2: 8,370 - 6 + 456 + 3 = 8,823; each further keeper 3,607 - 3 = 3,604
SEALED_CONSTRAINTS: dict[tuple[int, int], int] = {(2, 2): 8823, (2, 3): 12427}


@pytest.mark.slow  # compiles circuits with circom2
def test_constraint_counts(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> None:
    counts = {}
    for n, k in ((2, 2), (2, 3)):
        body = f'include "circuits/lib/note_seal.circom";\ncomponent main = SealedNote({n}, {k});'
        built = _compile(tc, tmp_path_factory.mktemp(f"seal-{n}-{k}"), body, wasm=False)
        counts[(n, k)] = built.r1cs.header.n_constraints
    print("SealedNote constraints:", counts)
    assert counts[(2, 3)] - counts[(2, 2)] == 3604  # one more keeper
    assert counts == SEALED_CONSTRAINTS


# --- on-chain: keeper key registration, and the price of hashing the seal ------------------


@pytest.fixture(scope="module")
def harness(tc: Toolchain) -> tuple[InProcessChain, str, solidity.Compiled]:
    contracts = solidity.compile_reference_contracts(tc)
    chain = InProcessChain()
    t6 = chain.deploy(contracts["PoseidonT6"].bytecode)
    h = contracts["SealHarness"]
    return chain, chain.deploy(h.linked({"PoseidonT6": t6})), h


def _call(chain: InProcessChain, to: str, sig: str, types: list[str], args: list[object]) -> bytes:
    return chain.call(to, keccak(sig.encode())[:4] + encode(types, args))


@pytest.mark.slow  # compiles the contracts with solc
def test_contract_keeper_key_check_agrees_with_python(harness: tuple[InProcessChain, str, solidity.Compiled]) -> None:
    """KeeperKeys.check: on the curve, canonical, not the identity (the subgroup is checked
    off-chain: a small-order key on the curve passes here and is refused by check_keeper_keys)."""
    chain, addr, _ = harness
    sig, types = "checkKeeperKey(uint256,uint256)", ["uint256", "uint256"]
    for good in (KEEPER.public, OTHER_KEEPER.public, BASE8, ORDER8):
        assert decode(["bool"], _call(chain, addr, sig, types, list(good)))[0] is True
    for bad in (
        IDENTITY,
        (1, 2),
        (KEEPER.public[0], (KEEPER.public[1] + 1) % R),
        (KEEPER.public[0] + R, KEEPER.public[1]),
    ):
        with pytest.raises(Reverted) as e:
            _call(chain, addr, sig, types, list(bad))
        assert e.value.data[:4] == keccak(b"InvalidKeeperKey(uint256,uint256)")[:4]
    with pytest.raises(InputError):
        sealing.check_keeper_keys([ORDER8])


@pytest.mark.slow  # compiles the contracts with solc
def test_hashing_the_seal_on_chain_costs_more_than_public_inputs(
    harness: tuple[InProcessChain, str, solidity.Compiled],
) -> None:
    """The design decision, measured: the seal of a note at N = 2, K = 2 is 22 field elements
    (ephemeral key 2 + 2 ciphertexts of 10). As public inputs they cost ~6.2k gas each in the
    Groth16 verifier (one ecMul 6,000 + ecAdd 150 + calldata), ~136k; hashed in-circuit to one
    public input, the pool must recompute the hash: Poseidon on-chain (PoseidonT6 chain) costs
    more than that, and keccak in-circuit (~150k constraints per block) does not fit 2^15."""
    chain, addr, _ = harness
    xs = list(range(1, 23))
    h, gas = decode(["uint256", "uint256"], _call(chain, addr, "sealHashGas(uint256[])", ["uint256[]"], [xs]))
    expect = poseidon(xs[:5])
    for i in range(5, 22, 4):
        expect = poseidon([expect, *(xs[i : i + 4] + [0] * 4)[:4]])
    assert h == expect
    print(f"Poseidon chain of 22 elements on-chain: {gas} gas (22 public inputs: ~{22 * 6_200})")
    assert gas > 22 * 6_200


# --- the seal in the registry and in a proof's public signals -------------------------------


def test_registry_expands_literal_and_two_dimensional_arrays() -> None:
    """The pool circuits' seal: "keeperKey[#1][#2]", "ephemeralPublicKey[#2]", "ciphertext[#2][#10]"
    expand row-major, as circom lays them out (build.py compares them with the compiled .sym)."""
    for cid, own in (("pool_open_2", 12), ("pool_transition_2", 22), ("pool_liquidation_2", 26)):
        spec = registry.get(cid)
        names = spec.public_signal_names()
        assert len(names) == own + 24
        assert names[own : own + 4] == [
            "keeperKey[0][0]",
            "keeperKey[0][1]",
            "ephemeralPublicKey[0]",
            "ephemeralPublicKey[1]",
        ]
        assert names[own + 4 :] == [f"ciphertext[{k}][{i}]" for k in range(2) for i in range(10)]
        assert "keeperKey, ephemeralPublicKey, ciphertext]" in spec.main_source()


def test_seal_signals_read_back_what_the_prover_sealed() -> None:
    from zkmargin.pool.transition import TRANSITION_PUBLIC, Op, public_signals

    from .test_pool_transition import EXACT, KEEPERS, Pool, honest, note

    n = note((1_000 * 10**6, 0), (0, 0), 0b01)
    inputs = honest(n, Op.BORROW, 1, 100 * 10**6, EXACT)
    spec = registry.get("pool_transition_2")
    signals = dict(zip(spec.public_signal_names(), public_signals(TRANSITION_PUBLIC, inputs), strict=True))
    keepers, seal = sealing.seal_signals(signals, 2)
    assert keepers == KEEPERS
    new = Note.from_fields(cipher.open_box(seal.boxes()[1], DEV_KEEPER_SECRET, 9))
    assert new.commitment == signals["newCommitment"] and Pool.with_note(n).tree.size == 4
