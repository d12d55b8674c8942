/** Errors the facade's requests throw; `api/security.ts` turns their `code` into the reply's. */
export class NotFoundError extends Error {
  readonly code = 'not-found';
}
export class UnsupportedError extends Error {
  readonly code = 'unsupported';
}
