// Reference verification through snarkjs's own API (not its CLI exit code).
// argv: <node_modules> <vkey.json> <public.json> <proof.json>
// Prints one JSON line: {"valid": bool} or {"valid": false, "error": "..."}.
const path = require("path");
const fs = require("fs");

async function main() {
    const [nodeModules, vkeyPath, publicPath, proofPath] = process.argv.slice(2);
    const snarkjs = require(path.join(nodeModules, "snarkjs"));
    const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    let valid = false;
    let error;
    try {
        valid = (await snarkjs.groth16.verify(read(vkeyPath), read(publicPath), read(proofPath), silent)) === true;
    } catch (e) {
        error = String(e && e.message ? e.message : e);
    }
    process.stdout.write(JSON.stringify(error === undefined ? { valid } : { valid: false, error }) + "\n");
    process.exit(0);
}

main().catch((e) => {
    process.stdout.write(JSON.stringify({ valid: false, error: String(e) }) + "\n");
    process.exit(0);
});
