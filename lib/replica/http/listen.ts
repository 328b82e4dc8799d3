// `replica.listen({ port })`: the in-process form of `shardorm replica start`. Importing this module
// adds `listen` to LocalReplica (the engine stays unaware of HTTP; only this seam knows both).
import { LocalReplica } from '../replica.js';
import { type HttpServerHandle, type HttpServerOptions, startHttpServer } from './server.js';

declare module '../replica.js' {
  interface LocalReplica {
    /**
     * Serves this replica over the IC HTTP interface (default 127.0.0.1:4943; `port: 0` picks a free
     * one). Point HttpAgent.create({ host: handle.url, shouldFetchRootKey: true }) at it.
     */
    listen(options?: HttpServerOptions): Promise<HttpServerHandle>;
  }
}

LocalReplica.prototype.listen = function listen(this: LocalReplica, options: HttpServerOptions = {}): Promise<HttpServerHandle> {
  return startHttpServer(this, options);
};

export { LocalReplica };
