import { stat } from 'node:fs/promises';
/** The insight operations' errors, with the codes that cross the boundary (no tfjs here). */
export class InsightInputError extends Error {
  readonly code = 'invalid-input';
}
export class InsightNotFoundError extends Error {
  readonly code = 'not-found';
}

/** Refuses a path that is not a regular file, by name: asked first, before any slow work (the dataset's features). */
export async function checkImageFile(path: string): Promise<void> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InsightInputError(`cannot read the image ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code}`);
  });
  if (!st.isFile()) throw new InsightInputError(`the image ${path} is not a regular file`);
}
