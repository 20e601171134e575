// References for zkmargin.pool (babyjub, cipher): @zk-kit/baby-jubjub 1.0.3, @zk-kit/poseidon-cipher 0.3.2
// and circomlibjs. argv: <node_modules> <in.json: [[op, ...args]]> with decimal strings for numbers;
// prints a JSON list with one result per request (decimal strings; {"error": message} when JS throws).
const path = require("path");
const fs = require("fs");

async function main() {
    const [nodeModules, inPath] = process.argv.slice(2);
    const req = (p) => require(path.join(nodeModules, p));
    const bjj = req("@zk-kit/baby-jubjub");
    const cipher = req("@zk-kit/poseidon-cipher");
    const circomlibjs = req("circomlibjs");
    const createBlakeHash = req("blake-hash");
    const babyjub = await circomlibjs.buildBabyjub();
    const eddsa = await circomlibjs.buildEddsa();
    const poseidon = await circomlibjs.buildPoseidon();
    const F = babyjub.F;
    const B = (x) => BigInt(x);
    const S = (x) => x.toString();
    const pt = (p) => [B(p[0]), B(p[1])];
    const fpt = (p) => [F.e(B(p[0])), F.e(B(p[1]))];
    const unf = (p) => [S(F.toObject(p[0])), S(F.toObject(p[1]))];
    const ops = {
        // [zk-kit mulPointEscalar, circomlibjs mulPointEscalar]
        mul: (p, e) => [bjj.mulPointEscalar(pt(p), B(e)).map(S), unf(babyjub.mulPointEscalar(fpt(p), B(e)))],
        add: (p, q) => [bjj.addPoint(pt(p), pt(q)).map(S), unf(babyjub.addPoint(fpt(p), fpt(q)))],
        inCurve: (p) => [bjj.inCurve(pt(p)), babyjub.inCurve(fpt(p))],
        constants: () => ({ base8: bjj.Base8.map(S), subOrder: S(bjj.subOrder), order: S(bjj.order),
                            cBase8: unf(babyjub.Base8), cSubOrder: S(babyjub.subOrder), cOrder: S(babyjub.order) }),
        // circomlibjs EdDSA key derivation: s = blake512(seed)[0..32] pruned, >> 3; A = prv2pub(seed)
        eddsa: (seedHex) => {
            const seed = Buffer.from(seedHex, "hex");
            const h = eddsa.pruneBuffer(createBlakeHash("blake512").update(seed).digest().slice(0, 32));
            const s = h.reduce((acc, b, i) => acc + (BigInt(b) << BigInt(8 * i)), 0n) >> 3n;
            return { scalar: S(s), pub: unf(eddsa.prv2pub(seed)) };
        },
        // circomlibjs poseidon(inputs, initState, nOut): the whole permutation of [initState, ...inputs]
        perm: (state) => poseidon(state.slice(1).map(B), B(state[0]), state.length).map((x) => S(poseidon.F.toObject(x))),
        encrypt: (msg, key, nonce) => cipher.poseidonEncrypt(msg.map(B), pt(key), B(nonce)).map(S),
        decrypt: (ct, key, nonce, length) => cipher.poseidonDecrypt(ct.map(B), pt(key), B(nonce), length).map(S),
    };
    const requests = JSON.parse(fs.readFileSync(inPath, "utf8"));
    const out = requests.map(([op, ...args]) => {
        try {
            return ops[op](...args);
        } catch (e) {
            return { error: String(e && e.message ? e.message : e) };
        }
    });
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
