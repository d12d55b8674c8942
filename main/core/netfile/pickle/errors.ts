/** One sentence that names the file and says what it is (or why it cannot be used). */
export class NetworkFileError extends Error {
  readonly code = 'invalid-input';
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file} ${why}`);
    this.name = 'NetworkFileError';
  }
}
