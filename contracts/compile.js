#!/usr/bin/env node
// Compiles EvidenceRegistry.sol with the pinned solc-js from node_modules and
// writes the artifact the Python side deploys from.
//
//   node contracts/compile.js [OUTPUT_PATH]
//
// OUTPUT_PATH defaults to anchoring/contract_artifacts/EvidenceRegistry.json.
// The output is deterministic (sorted keys, two-space indentation, trailing
// newline) so that a rebuild can be compared byte for byte with the committed file.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..');
// Resolve from the repository so a global solc of another version is never picked up.
const solc = require(require.resolve('solc', { paths: [repoRoot] }));

const CONTRACT_NAME = 'EvidenceRegistry';
const SOURCE_NAME = 'EvidenceRegistry.sol';
const EXPECTED_SOLC = '0.8.28';

// Everything that shapes the bytecode lives here and is copied verbatim into the
// artifact, so `solc --standard-json` anywhere can reproduce the build.
const SETTINGS = {
  // Pinned rather than solc's default so a compiler bump cannot change opcodes;
  // anvil 1.7.1 runs a later hardfork, which executes cancun code unchanged.
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    '*': {
      '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'metadata'],
    },
  },
};

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function main() {
  const outPath = path.resolve(
    process.argv[2] || path.join(repoRoot, 'anchoring', 'contract_artifacts', `${CONTRACT_NAME}.json`),
  );
  const sourcePath = path.join(__dirname, SOURCE_NAME);
  const source = fs.readFileSync(sourcePath);

  const version = solc.version();
  if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
    throw new Error(`solc ${EXPECTED_SOLC} expected, found ${version}: run npm ci`);
  }

  const input = {
    language: 'Solidity',
    sources: { [SOURCE_NAME]: { content: source.toString('utf8') } },
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));

  const diagnostics = output.errors || [];
  for (const d of diagnostics) process.stderr.write(`${d.formattedMessage || d.message}\n`);
  if (diagnostics.some((d) => d.severity === 'error')) {
    process.exit(1);
  }

  const compiled = output.contracts[SOURCE_NAME][CONTRACT_NAME];
  const artifact = {
    abi: compiled.abi,
    bytecode: `0x${compiled.evm.bytecode.object}`,
    compiler: { name: 'solc-js', version },
    contractName: CONTRACT_NAME,
    deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
    // Kept as the exact string solc produced: the IPFS/Swarm hash at the end of the
    // bytecode is over these bytes, which lets an expert tie bytecode to source.
    metadata: compiled.metadata,
    settings: SETTINGS,
    sourceName: SOURCE_NAME,
    sourceSha256: crypto.createHash('sha256').update(source).digest('hex'),
  };

  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  fs.writeFileSync(outPath, `${JSON.stringify(sortKeys(artifact), null, 2)}\n`);
  process.stdout.write(`wrote ${outPath}\n`);
}

main();
