// Compiles Registrar.sol with solc-js (npm "solc"), the only Solidity
// compiler available offline here. Writes registrar.abi and registrar.bin.
//
// EVM version: constantinople. solc >= 0.8.20 defaults to a recent EVM and
// emits PUSH0 (Shanghai), which the Jami clique chain (Constantinople) cannot
// run; the same bytecode also runs on the embedded dev chain (spec §3.7).
// Optimizer: enabled, 500 runs, as the reference's build.json.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require(process.argv[2] || 'solc');

const dir = __dirname;
const input = {
  language: 'Solidity',
  sources: { 'Registrar.sol': { content: fs.readFileSync(path.join(dir, 'Registrar.sol'), 'utf8') } },
  settings: {
    evmVersion: 'constantinople',
    optimizer: { enabled: true, runs: 500 },
    metadata: { bytecodeHash: 'none' },
    outputSelection: { 'Registrar.sol': { GlobalRegistrar: ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) {
  // The EVM version older than london is deliberate (see above).
  if (e.severity === 'warning' && /older than london|deprecated/i.test(e.message)) continue;
  console.error(e.formattedMessage || e.message);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
const c = out.contracts['Registrar.sol'].GlobalRegistrar;
fs.writeFileSync(path.join(dir, 'registrar.abi'), JSON.stringify(c.abi, null, 1) + '\n');
fs.writeFileSync(path.join(dir, 'registrar.bin'), c.evm.bytecode.object + '\n');
console.error('solc ' + solc.version() + ': ' + Object.keys(c.evm.methodIdentifiers).length + ' functions, ' +
  c.evm.bytecode.object.length / 2 + ' bytes of init code');
