// The process boundary lives in eslint.config.js (no-restricted-imports / no-restricted-syntax).
// These tests make sure the rules bite: each lints a one-line file placed where it would break
// the boundary, and expects the specific rule to fire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { REPO_ROOT } from '../helpers/paths.js';

// The boundary rules need no types; type-aware linting needs each file in a tsconfig, and these
// one-line files exist nowhere.
const eslint = new ESLint({ cwd: REPO_ROOT, overrideConfig: tseslint.configs.disableTypeChecked });

async function ruleIds(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(REPO_ROOT, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? 'fatal');
}

test('nothing under main/core, main/cli, main/server or test imports electron', async () => {
  for (const file of ['main/core/x.ts', 'main/cli/x.ts', 'main/server/x.ts', 'test/unit/x.ts']) {
    const ids = await ruleIds(file, "import { app } from 'electron';\nvoid app;\n");
    assert.ok(ids.includes('no-restricted-imports'), `${file}: ${ids.join(', ')}`);
  }
  assert.deepEqual(await ruleIds('main/app/x.ts', "import { app } from 'electron';\nvoid app;\n"), []);
});

test('shells never import each other', async () => {
  const cases: [string, string][] = [
    ['main/app/x.ts', '../server/server.js'],
    ['main/app/x.ts', '../cli/index.js'],
    ['main/server/x.ts', '../cli/index.js'],
    ['main/cli/x.ts', '../server/server.js'],
  ];
  for (const [file, spec] of cases) {
    const ids = await ruleIds(file, `import * as m from '${spec}';\nvoid m;\n`);
    assert.ok(ids.includes('no-restricted-imports'), `${file} → ${spec}: ${ids.join(', ')}`);
  }
  assert.deepEqual(await ruleIds('main/cli/x.ts', "import * as m from '../core/studio.js';\nvoid m;\n"), []);
});

test('shells never import each other through import() either', async () => {
  const cases: [string, string][] = [
    ['main/cli/x.ts', "'../server/index.js'"],
    ['main/cli/x.ts', '`../server/${name}.js`'],
    ['main/cli/x.ts', "'../app/main.js'"],
    ['main/server/x.ts', "'../cli/index.js'"],
    ['main/app/x.ts', "'../server/index.js'"],
    ['main/app/ipc.ts', "'../cli/index.js'"],
  ];
  for (const [file, spec] of cases) {
    const ids = await ruleIds(file, `const name = 'index';\nvoid name;\nexport const m = await import(${spec});\n`);
    assert.ok(ids.includes('no-restricted-syntax'), `${file} → import(${spec}): ${ids.join(', ')}`);
  }
  // The core, and the executable above the shells, may load them lazily.
  const lazy = "export const m = await import('../core/studio.js');\n";
  assert.deepEqual(await ruleIds('main/cli/x.ts', lazy), []);
  assert.deepEqual(await ruleIds('main/plumage.ts', "export const m = await import('./server/index.js');\n"), []);
});

test('only main/app/ipc.ts touches ipcMain, only preload touches ipcRenderer', async () => {
  const text = "import { ipcMain } from 'electron';\nvoid ipcMain;\n";
  assert.deepEqual(await ruleIds('main/app/ipc.ts', text), []);
  assert.ok((await ruleIds('main/app/main.ts', text)).includes('no-restricted-syntax'));
  const r = "import { ipcRenderer } from 'electron';\nvoid ipcRenderer;\n";
  assert.deepEqual(await ruleIds('preload/index.ts', r), []);
  assert.ok((await ruleIds('main/app/x.ts', r)).includes('no-restricted-syntax'));
});

test('the renderer imports no Node built-ins', async () => {
  const ids = await ruleIds('renderer/src/lib/x.ts', "import { readFileSync } from 'node:fs';\nvoid readFileSync;\n");
  assert.ok(ids.includes('no-restricted-imports'), ids.join(', '));
});

test('the contract module has no runtime dependencies', async () => {
  const ids = await ruleIds('preload/contract.ts', "import { z } from 'zod';\nexport const s = z.string();\n");
  assert.ok(ids.includes('no-restricted-imports'), ids.join(', '));
});

test('the contract imports the vocabulary alone, which imports nothing', async () => {
  const vocab = "export * from '../main/common/vocabulary.js';\n";
  assert.deepEqual(await ruleIds('preload/contract.ts', vocab), []);
  const core = "import { CSP } from '../main/core/api/security.js';\nexport const c = CSP;\n";
  assert.ok((await ruleIds('preload/contract.ts', core)).includes('no-restricted-imports'));
  const up = "import type { ApiError } from '../../preload/contract.js';\nexport type E = ApiError;\n";
  assert.ok((await ruleIds('main/common/x.ts', up)).includes('no-restricted-imports'));
  const fs = "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n";
  assert.ok((await ruleIds('main/common/x.ts', fs)).includes('no-restricted-imports'));
  const sibling = "export type * from './records.js';\n";
  assert.deepEqual(await ruleIds('main/common/x.ts', sibling), []);
});

test('the preload imports the contract, never main/', async () => {
  const core = "import { MEDIA_SCHEME } from '../main/core/api/security.js';\nvoid MEDIA_SCHEME;\n";
  assert.ok((await ruleIds('preload/index.ts', core)).includes('no-restricted-imports'));
  const contract = "import { MEDIA_SCHEME } from './contract.js';\nvoid MEDIA_SCHEME;\n";
  assert.deepEqual(await ruleIds('preload/index.ts', contract), []);
});

test('below the API the core imports the vocabulary, not the contract', async () => {
  const contract = "import type { RunState } from '../../../preload/contract.js';\nexport type S = RunState;\n";
  const vocab = "import type { RunState } from '../../common/vocabulary.js';\nexport type S = RunState;\n";
  for (const file of [
    'main/core/store/x.ts',
    'main/core/gan/x.ts',
    'main/core/runtime/x.ts',
    'main/core/dataset/x.ts',
  ]) {
    assert.ok((await ruleIds(file, contract)).includes('no-restricted-imports'), file);
    assert.deepEqual(await ruleIds(file, vocab), [], file);
  }
  assert.deepEqual(await ruleIds('main/core/gallery/gallery.ts', contract), []);
  // The electron rule still holds there.
  const electron = "import { app } from 'electron';\nvoid app;\n";
  assert.ok((await ruleIds('main/core/store/x.ts', electron)).includes('no-restricted-imports'));
});

test('gan/ is the paper: it imports the kernels, util and the vocabulary, not the runtime around it', async () => {
  for (const spec of ['../runtime/backend.js', '../parallel/engine.js', '../netfile/checkpoint.js', '../studio.js']) {
    const ids = await ruleIds('main/core/gan/x.ts', `import * as m from '${spec}';\nvoid m;\n`);
    assert.ok(ids.includes('no-restricted-imports'), `${spec}: ${ids.join(', ')}`);
  }
  for (const spec of ['./config.js', '../kernels/fused.js', '../util/read.js', '../../common/vocabulary.js'])
    assert.deepEqual(await ruleIds('main/core/gan/x.ts', `import * as m from '${spec}';\nvoid m;\n`), [], spec);
  const contract = "import type { RunState } from '../../../preload/contract.js';\nexport type S = RunState;\n";
  assert.ok((await ruleIds('main/core/gan/x.ts', contract)).includes('no-restricted-imports'));
});
