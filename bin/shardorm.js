#!/usr/bin/env node
// Entry for `npx shardorm`: the package ships TypeScript sources, run through tsx's loader.
import { register } from 'tsx/esm/api';
register();
await import('../lib/cli/main.ts');
