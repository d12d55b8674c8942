import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_PLATES } from './paths.js';

/** The bundled sample plates (Audubon, public domain; see resources/sample-plates/CREDITS.txt), sorted. */
export const PLATE_NAMES: readonly string[] = readdirSync(SAMPLE_PLATES)
  .filter((f) => f.endsWith('.jpg'))
  .sort();

/** Absolute path of a bundled plate. */
export const plate = (name: string): string => join(SAMPLE_PLATES, name);

/**
 * Writes `count` distinct JPEG plates into `dir` (more than the 24 bundled ones when asked):
 * the n-th copy of a plate carries a JPEG comment segment naming its copy, so every file has
 * its own hash (no duplicates) and decodes to the same picture. Returns the names, sorted.
 */
export function writePlates(dir: string, count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const source = PLATE_NAMES[i % PLATE_NAMES.length]!;
    const copy = Math.floor(i / PLATE_NAMES.length);
    const bytes = readFileSync(plate(source));
    const name = copy === 0 ? source : source.replace(/\.jpg$/, `-copy${copy}.jpg`);
    const note = Buffer.from(`copy ${copy}`, 'ascii');
    const com = Buffer.alloc(4);
    com.writeUInt16BE(0xfffe, 0); // COM marker
    com.writeUInt16BE(note.length + 2, 2);
    // SOI stays first; the comment goes right after it.
    writeFileSync(
      join(dir, name),
      copy === 0 ? bytes : Buffer.concat([bytes.subarray(0, 2), com, note, bytes.subarray(2)]),
    );
    names.push(name);
  }
  return names.sort();
}
