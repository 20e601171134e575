// EVM bytecode and ABI of circomlibjs's Poseidon contract for n inputs, so that a consuming
// contract can recompute the prices hash of the hashed layout on-chain.
// argv: <node_modules> <n>; prints {"bytecode": "0x...", "abi": [...]}.
const path = require("path");
const [nodeModules, n] = process.argv.slice(2);
const { poseidonContract } = require(path.join(nodeModules, "circomlibjs"));
process.stdout.write(JSON.stringify({
    bytecode: poseidonContract.createCode(Number(n)),
    abi: poseidonContract.generateABI(Number(n)),
}) + "\n");
