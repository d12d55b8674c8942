import type { Upscaler } from '../../common/vocabulary.js';

/** What each upscaler does, said plainly wherever the choice is offered (UI, CLI help, README). */
export const UPSCALER_DESCRIPTIONS: Record<Upscaler, string> = {
  esrgan:
    'ESRGAN (learned super-resolution, ×2/×4 then Lanczos to size): invents plausible fine detail ' +
    'that was never in the picture',
  lanczos: 'Lanczos filter: smooth and faithful to the picture; adds no detail',
};
