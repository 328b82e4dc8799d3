// TC39 decorator metadata (`context.metadata`) needs `Symbol.metadata`, which Node 20 lacks.
// Compilers (TypeScript, esbuild inside tsx and Azle) read `Symbol.metadata` when a decorated
// class is defined; esbuild falls back to `Symbol.for('Symbol.metadata')`, so we install that same
// symbol, making every toolchain agree. This is the one place the polyfill lives; `shardorm`'s
// entry point imports it first, so it runs before any user class is evaluated.
const symbolCtor = Symbol as unknown as { metadata?: symbol };
if (symbolCtor.metadata === undefined) {
  Object.defineProperty(Symbol, 'metadata', { value: Symbol.for('Symbol.metadata'), configurable: false, writable: false });
}
export {};
