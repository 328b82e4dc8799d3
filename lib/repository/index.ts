export { Repository } from './repository.js';
export type { RepositoryOptions, ScanOptions, FindOptions, Page } from './repository.js';
export { Dispatcher, MAX_ROUTE_RETRIES, MAX_UNAVAILABLE_RETRIES, MAX_PARALLEL_REQUESTS, inParallel } from './dispatch.js';
export type { EntryChooser, MapBootstrap, DispatcherOptions } from './dispatch.js';
export { MemoryKv, keySuccessor } from './store.js';
export type { OrderedKv, Entry } from './store.js';
export { encodeCursor, decodeCursor } from './cursor.js';
