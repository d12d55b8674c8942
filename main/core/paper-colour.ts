/**
 * The paper colour of the plates (their cleaned near-white): alpha and padding in ingest, the
 * snapshot grids' background, and the "cream" paper tone of prints. Defined here only.
 */
export const DEFAULT_PAPER = '#f5f1e6';
