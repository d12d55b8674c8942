/** The insight operations' errors, with the codes that cross the boundary (no tfjs here). */
export class InsightInputError extends Error {
  readonly code = 'invalid-input';
}
export class InsightNotFoundError extends Error {
  readonly code = 'not-found';
}
