// circomlibjs Poseidon (the reference) over a list of input vectors.
// argv: <node_modules> <in.json: [[decimal strings]]>; prints a JSON list of decimal strings.
const path = require("path");
const fs = require("fs");

async function main() {
    const [nodeModules, inPath] = process.argv.slice(2);
    const { buildPoseidon } = require(path.join(nodeModules, "circomlibjs"));
    const poseidon = await buildPoseidon();
    const vectors = JSON.parse(fs.readFileSync(inPath, "utf8"));
    const out = vectors.map((v) => poseidon.F.toString(poseidon(v.map(BigInt))));
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
