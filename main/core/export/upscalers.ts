import { PRINT_PPI, type UpscalerChoice } from '../../common/vocabulary.js';

/** What each upscaler choice does, said plainly wherever the choice is offered (UI, CLI help, README). */
export const UPSCALER_DESCRIPTIONS: Record<UpscalerChoice, string> = {
  auto:
    `the one that looks better for the bird's size on this paper: ESRGAN from ${PRINT_PPI.esrgan} px per ` +
    `printed inch after its ×4, Lanczos below (there ESRGAN's sharp-edged pixels show as a mosaic)`,
  esrgan:
    'ESRGAN (learned super-resolution, ×2/×4 then Lanczos to size): invents plausible fine detail ' +
    'that was never in the picture',
  lanczos: 'Lanczos filter: smooth and faithful to the picture; adds no detail',
};
