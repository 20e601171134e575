// Render snarkjs's own Groth16 Solidity template from a verification key, exactly as
// `snarkjs zkey export solidityverifier` does from the key inside a zkey, so that a
// verifier can be made from a bundle's (or a pinned) vkey without the zkey.
// argv: <node_modules> <vkey.json>; prints the Solidity source.
const path = require("path");
const fs = require("fs");

const [nodeModules, vkeyPath] = process.argv.slice(2);
const ejs = require(path.join(nodeModules, "ejs"));
const template = fs.readFileSync(path.join(nodeModules, "snarkjs", "templates", "verifier_groth16.sol.ejs"), "utf8");
process.stdout.write(ejs.render(template, JSON.parse(fs.readFileSync(vkeyPath, "utf8"))));
