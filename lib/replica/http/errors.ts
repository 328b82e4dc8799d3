// Typed errors of the HTTP interface. Each carries the HTTP status the IC answers with and a message
// that tells the client what to change; the server turns them into plain-text 4xx replies.

export class HttpInterfaceError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'HttpInterfaceError';
  }
}

/** 400: the request is malformed (bad CBOR, missing fields, wrong types, bad expiry). */
export function badRequest(message: string): HttpInterfaceError {
  return new HttpInterfaceError(400, message);
}

/** 403: the request is well formed but its sender may not do this (bad signature, wrong reader). */
export function forbidden(message: string): HttpInterfaceError {
  return new HttpInterfaceError(403, message);
}

/** 404: unknown endpoint. */
export function notFound(message: string): HttpInterfaceError {
  return new HttpInterfaceError(404, message);
}

/** 413: the body exceeds the ingress size limit. */
export function tooLarge(message: string): HttpInterfaceError {
  return new HttpInterfaceError(413, message);
}

/** The message of anything thrown (engines and sockets may throw non-Errors). */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
