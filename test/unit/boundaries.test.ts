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
