import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository / app root: this file is compiled to dist/main/core/version.js. */
export const APP_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** Bundled resources (sample plates, icons) when running from the repository or an npm install. */
export const DEFAULT_RESOURCES_DIR = join(APP_ROOT, 'resources');
