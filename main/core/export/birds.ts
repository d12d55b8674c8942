/**
 * Favourites' pictures for prints, drawn in the export process with the gallery's own renderer
 * and generator cache: a favourite prints exactly as it was kept, style mixes included, and
 * favourites of one checkpoint share one loaded generator and its weight constants.
 */
import { initBackend } from '../runtime/backend.js';
import { GeneratorCache } from '../gallery/generator-cache.js';
import { renderBird } from '../gallery/render.js';
import type { FavouriteSource, PrintSource } from './types.js';

export { GeneratorCache };

/** The sources with their pictures drawn on demand through `generators`. */
export function drawnSources(sources: FavouriteSource[], generators: GeneratorCache): PrintSource[] {
  return sources.map(({ generatorPath, bird, ...facts }) => ({
    ...facts,
    picture: async () => {
      await initBackend();
      const gen = await generators.get(generatorPath);
      return { rgb: await renderBird(gen, bird), size: gen.config.resolution };
    },
  }));
}
