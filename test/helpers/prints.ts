import type { PrintOptions } from '../../preload/contract.js';

/** A small, quick print for API tests: A5 portrait at 150 DPI, captioned PNG through ESRGAN. */
export const A5_PRINT = {
  paper: 'A5',
  orientation: 'portrait',
  dpi: 150,
  marginMm: 10,
  bleed: false,
  tone: 'white',
  caption: true,
  format: 'png',
  upscaler: 'esrgan',
} as const satisfies PrintOptions;
