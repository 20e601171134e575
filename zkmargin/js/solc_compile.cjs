// Compile Solidity with the pinned solcjs through its standard-JSON API.
// argv: <node_modules> <input.json (standard JSON)>; prints the standard-JSON output.
const path = require("path");
const fs = require("fs");

const [nodeModules, inputPath] = process.argv.slice(2);
const solc = require(path.join(nodeModules, "solc"));
const output = solc.compile(fs.readFileSync(inputPath, "utf8"));
process.stdout.write(JSON.stringify({ version: solc.version(), output: JSON.parse(output) }) + "\n");
