/** Usage lines of the export commands (kept apart so `--help` does not load them). */
export const EXPORT_USAGE = `
  plumage export --favourites all|ID,… [--paper A5|A4|A3|A2|Letter|Tabloid|WxHmm] [--orientation portrait|landscape]
                 [--dpi 300] [--margin MM] [--bleed] [--tone white|cream|antique] [--no-caption]
                 [--format pdf|png|tiff] [--upscaler auto|esrgan|lanczos] [--contact-sheet] [--out DIR] [--overwrite]
                 [--backend B] [--home DIR] [--json]   prints of favourites, one file each (or one contact sheet);
                 the birds and ESRGAN run on B (cuda, webgpu, cpu-native, wasm, cpu; default: the best present);
                 auto (the default) upscales with ESRGAN from 100 px per printed inch after its ×4, else Lanczos
  plumage export-dataset --dataset ID|FOLDER [--resolution N] [--crop MODE] [--out DIR] [--name FILE.zip] [--overwrite]
                 [--home DIR] [--json]       the reference's dataset format: zip of PNGs + dataset.json
  plumage export-timelapse --run R [--format webp|gif|mp4|png] [--fps 12] [--out DIR] [--overwrite] [--home DIR] [--json]`;
