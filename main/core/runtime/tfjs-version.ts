/**
 * The tfjs release that Plumage's two patches were written against, reading its source:
 * tape.ts replaces the engine's backward pass and reaches its private state; wasm-memory.ts
 * swaps the wasm backend's Identity kernel and counts on its reference counting. Another release
 * may move or change what they touch without a type error and quietly change the numbers, so
 * they refuse to install there, and package.json pins every tfjs package to this release.
 * After an upgrade: read both patches against the new source, run the tests that hold them to
 * stock tfjs (test/integration/gan-tfjs-patches.test.ts), then change this constant.
 */
export const PATCHED_TFJS_VERSION = '4.22.0';

/** A patch met a tfjs release it was not written for: a broken install, never a reason to fall back. */
export class TfjsVersionError extends Error {
  override name = 'TfjsVersionError';
}

/** Throws unless `version` (of package `pkg`) is the release the patch was written for. */
export function assertPatchedVersion(patch: string, pkg: string, version: string): void {
  if (version === PATCHED_TFJS_VERSION) return;
  throw new TfjsVersionError(
    `${patch} was written for ${pkg} ${PATCHED_TFJS_VERSION}, but this process loaded ${pkg} ${version}. ` +
      `Check the patch against ${version}'s source and the tests that compare it with stock tfjs, ` +
      `then update PATCHED_TFJS_VERSION (main/core/runtime/tfjs-version.ts).`,
  );
}
