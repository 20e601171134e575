// Ceremony checks through snarkjs's own API (a boolean, never an exit code), with its log.
// argv: <node_modules> zkey <r1cs> <ptau> <zkey>   |   <node_modules> ptau <ptau>
// Prints {"valid": bool, "log": [lines]}.
const path = require("path");

async function main() {
    const [nodeModules, what, ...files] = process.argv.slice(2);
    const snarkjs = require(path.join(nodeModules, "snarkjs"));
    const log = [];
    const keep = (...a) => log.push(a.join(" "));
    const logger = { debug() {}, info: keep, warn: keep, error: keep };
    let valid = false;
    try {
        if (what === "zkey") valid = (await snarkjs.zKey.verifyFromR1cs(files[0], files[1], files[2], logger)) === true;
        else if (what === "ptau") valid = (await snarkjs.powersOfTau.verify(files[0], logger)) === true;
        else throw new Error("unknown check " + what);
    } catch (e) {
        log.push("error: " + String(e && e.message ? e.message : e));
        valid = false;
    }
    process.stdout.write(JSON.stringify({ valid, log }) + "\n");
    process.exit(0);
}
main();
