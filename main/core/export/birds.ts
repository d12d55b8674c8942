/**
 * Favourites' pictures for prints, drawn in the export process with the gallery's own renderer:
 * a favourite prints exactly as it was kept, style mixes included.
 */
import { initBackend } from '../gan/backend.js';
import { loadGenerator } from '../gan/checkpoint.js';
import { renderBird, type BirdSpec, type Generator } from '../gallery/render.js';
import type { FavouriteSource, PrintSource } from './types.js';

/** One generator loaded at a time: favourites of one checkpoint share it; it is freed when the next differs. */
export class GeneratorCache {
  #path: string | null = null;
  #gen: Generator | null = null;

  async picture(generatorPath: string, bird: BirdSpec): Promise<{ rgb: Uint8Array; size: number }> {
    if (this.#path !== generatorPath) {
      this.dispose();
      await initBackend();
      this.#gen = await loadGenerator(generatorPath);
      this.#path = generatorPath;
    }
    return { rgb: await renderBird(this.#gen!, bird), size: this.#gen!.config.resolution };
  }

  dispose(): void {
    this.#gen?.G.dispose();
    this.#gen = null;
    this.#path = null;
  }
}

/** The sources with their pictures drawn on demand through `generators`. */
export function drawnSources(sources: FavouriteSource[], generators: GeneratorCache): PrintSource[] {
  return sources.map(({ generatorPath, bird, ...facts }) => ({
    ...facts,
    picture: () => generators.picture(generatorPath, bird),
  }));
}
