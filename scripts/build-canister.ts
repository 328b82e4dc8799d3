// `npm run build:example`: builds a canister named in the root dfx.json exactly as dfx would,
// without dfx (azle build with AZLE_DFX_ROOT and CANISTER_CANDID_PATH set).
import { buildAzleCanister } from '../lib/build/azle.js';

const name = process.argv[2];
if (!name) {
  console.error('usage: tsx scripts/build-canister.ts <canister name from dfx.json>');
  process.exit(2);
}
const built = await buildAzleCanister({ root: process.cwd(), name, force: process.argv.includes('--force') });
console.log(`${built.cached ? 'cached' : 'built'}: ${built.wasmPath} (${built.wasm.length} bytes), candid ${built.candidPath}`);
