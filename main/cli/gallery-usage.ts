/** Usage lines of the gallery commands (kept apart so `--help` does not load them). */
export const GALLERY_USAGE = `
  plumage generate (--checkpoint FILE | --run R [--checkpoint ID | --kimg K]) [--seeds 0-7] [--psi 0.7]
                   [--noise const|random] [--mix-seed S --layers coarse|middle|fine|LO-HI] [--backend B] [--out DIR]
                   [--direction K --amount A [--method sefa|ganspace] [--direction-layers all|LO-HI]] [--home DIR]
                   [--json]   {files, outDir, cancelled, generator: {file, runId, kimg}}
  plumage favourite add (--run R [--kimg K] | --checkpoint FILE) (--seed S | --latent FILE) [--psi 0.7]
                   [--noise const|random] [--mix-seed S --layers L] [--direction K --amount A [--method M]
                   [--direction-layers L]] [--name N] [--note T] [--home DIR] [--json]
  plumage favourite list [--filter TEXT] [--sort created|name|seed|kimg] [--desc] [--home DIR] [--json]
  plumage favourite remove ID [--home DIR]
  plumage favourite render ID [--out DIR] [--backend B] [--home DIR]   draw it again (the same bytes every time)
  plumage interpolate --favourites ID,ID[,…] [--space w|z] [--frames 48] [--fps 24] [--format webp|gif|mp4|png]
                   [--out DIR] [--name N] [--backend B] [--home DIR] [--json]   --json: {files}`;
