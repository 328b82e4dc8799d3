// The management canister client view lives with the client SDK (browser-safe); the CLI uses it from there.
export * from '../client/management.js';
