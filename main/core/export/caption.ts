/**
 * Plate captions: what they say, and the serif font they are set in. The font (Noto Serif,
 * SIL OFL, from @expo-google-fonts/noto-serif) is embedded in every PDF and rendered into every
 * raster, so a print looks the same on any machine. It covers Latin (with every accent),
 * Greek and Cyrillic; a name with a character it has no glyph for is refused before anything
 * is written, naming the character, rather than printed as an empty box.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fontkit from '@pdf-lib/fontkit';
import subsetFont from 'subset-font';
import type { PrintItem } from './types.js';

const require = createRequire(import.meta.url);
/**
 * Pango opens the font by path with its own file access, which cannot see inside Electron's asar
 * archive: in a packaged app the font is unpacked beside it (electron-builder.yml), so use that copy.
 */
const outsideAsar = (path: string): string => {
  const unpacked = path.replace(/\.asar([\\/])/, '.asar.unpacked$1');
  return unpacked !== path && existsSync(unpacked) ? unpacked : path;
};
export const CAPTION_FONT_FILE = outsideAsar(
  require.resolve('@expo-google-fonts/noto-serif/400Regular/NotoSerif_400Regular.ttf'),
);
export const CAPTION_ITALIC_FILE = outsideAsar(
  require.resolve('@expo-google-fonts/noto-serif/400Regular_Italic/NotoSerif_400Regular_Italic.ttf'),
);
/** The family name Pango knows the font file by. */
export const CAPTION_FONT_FAMILY = 'Noto Serif';

let fontBytes: { regular: Uint8Array; italic: Uint8Array } | null = null;
let coverage: { hasGlyphForCodePoint(cp: number): boolean }[] | null = null;

export function captionFontBytes(): { regular: Uint8Array; italic: Uint8Array } {
  fontBytes ??= { regular: readFileSync(CAPTION_FONT_FILE), italic: readFileSync(CAPTION_ITALIC_FILE) };
  return fontBytes;
}

/** What every caption may set beside its names: printable ASCII and the marks captionText and titles use. */
const ALWAYS = `${Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).join('')}ψ·—…–’“”`;

/**
 * The caption faces cut down to the characters `regular` and `italic` need (HarfBuzz's hb-subset:
 * a 500 KB face becomes a few dozen KB), so a PDF carries only what it shows. Layout features
 * stay, so kerning and ligatures are set as in the whole face.
 */
export async function captionFontSubsets(
  regular: string,
  italic: string,
): Promise<{ regular: Uint8Array; italic: Uint8Array }> {
  const whole = captionFontBytes();
  const cut = (font: Uint8Array, text: string): Promise<Buffer> =>
    subsetFont(Buffer.from(font), `${ALWAYS}${text}`, { targetFormat: 'truetype' });
  const [r, i] = await Promise.all([cut(whole.regular, regular), cut(whole.italic, italic)]);
  return { regular: r, italic: i };
}

export class CaptionError extends RangeError {
  readonly code = 'invalid-input';
}

/** Throws CaptionError naming every character of `text` the caption font cannot draw. */
export function checkCaptionText(text: string): void {
  const { regular, italic } = captionFontBytes();
  coverage ??= [fontkit.create(Buffer.from(regular)), fontkit.create(Buffer.from(italic))];
  const missing = new Set<string>();
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) throw new CaptionError(`caption contains a control character`);
    if (!coverage.every((f) => f.hasGlyphForCodePoint(cp))) missing.add(ch);
  }
  if (missing.size > 0)
    throw new CaptionError(
      `the caption font (Noto Serif: Latin, Greek, Cyrillic) cannot write ${[...missing]
        .map((c) => `"${c}" (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`)
        .join(', ')} in ${JSON.stringify(text)}`,
    );
}

/** Two lines under the picture: plate and name (the name in italics), then where it came from. */
export interface CaptionText {
  plate: string;
  name: string;
  details: string;
}

/** What a caption says the bird is: its seed, or that it was projected from a picture. */
export const birdOrigin = (seed: number | null): string => (seed === null ? 'projected' : `seed ${seed}`);

export function captionText(item: Omit<PrintItem, 'rgb' | 'size'>): CaptionText {
  const details = [
    birdOrigin(item.seed),
    item.psi !== undefined ? `ψ ${item.psi}` : null,
    item.run ?? null,
    item.kimg !== undefined ? `${Math.round(item.kimg * 10) / 10} kimg` : null,
    item.date,
  ].filter((x): x is string => x !== null);
  return { plate: `Plate ${item.plate}.`, name: item.name, details: details.join('  ·  ') };
}
