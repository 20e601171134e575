// A warm Groth16 prover: loads snarkjs and one zkey once, then proves witnesses sent to it.
// argv: <node_modules> <circuit.zkey> [single]   ("single": one thread; a pool runs one worker per core)
// Protocol: newline-delimited JSON. The worker first writes {"ready": true}; then for each
// request line {"id": N, "wtns": "<base64 .wtns>"} it writes {"id": N, "proof": {...},
// "public": [...]} or {"id": N, "error": "..."}. stdout carries only protocol lines.
const path = require("path");
const fs = require("fs");
const readline = require("readline");

const [nodeModules, zkeyPath, threading] = process.argv.slice(2);
const options = { singleThread: threading === "single" };
const snarkjs = require(path.join(nodeModules, "snarkjs"));
const zkey = { type: "mem", data: new Uint8Array(fs.readFileSync(zkeyPath)) };
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
    // one proof at a time per worker: snarkjs already spreads each proof over the cores
    queue = queue.then(async () => {
        let req;
        try {
            req = JSON.parse(line);
            const wtns = { type: "mem", data: new Uint8Array(Buffer.from(req.wtns, "base64")) };
            const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns, undefined, options);
            out({ id: req.id, proof, public: publicSignals });
        } catch (e) {
            out({ id: req && req.id !== undefined ? req.id : null, error: String(e && e.message ? e.message : e) });
        }
    });
}).on("close", () => { queue.then(() => process.exit(0)); });

out({ ready: true });
