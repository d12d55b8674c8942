import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  OutsideHomeError,
  assertWritableInHome,
  checkpointDir,
  checkpointPlace,
  fromStored,
  removeInHome,
  removeInHomeSync,
  toStored,
} from '../../main/core/home-layout.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
let home: string;
let outside: string;
before(() => {
  tmp = tempDir('layout');
  home = join(tmp.dir, 'home');
  outside = join(tmp.dir, 'outside');
  mkdirSync(join(home, 'checkpoints', 'run-1'), { recursive: true });
  mkdirSync(outside);
});
after(() => tmp.cleanup());

const file = (path: string): string => {
  writeFileSync(path, 'x');
  return path;
};

test('a path inside the home is stored relative to it, one outside absolute; both come back absolute', () => {
  const inside = join(checkpointDir(home, 1), 'ckpt-00000004.safetensors');
  assert.equal(toStored(home, inside), 'checkpoints/run-1/ckpt-00000004.safetensors');
  assert.equal(fromStored(home, 'checkpoints/run-1/ckpt-00000004.safetensors'), inside);
  assert.equal(
    fromStored(join(tmp.dir, 'moved'), 'checkpoints/run-1/x'),
    join(tmp.dir, 'moved', 'checkpoints/run-1/x'),
  );
  assert.equal(toStored(home, join(outside, 'gen.safetensors')), join(outside, 'gen.safetensors'));
  assert.equal(fromStored(home, join(outside, 'gen.safetensors')), join(outside, 'gen.safetensors'));
  assert.equal(toStored(home, join(home, '..', 'outside', 'g')), join(outside, 'g'), '`..` leads out: absolute');
  assert.equal(toStored(home, join(home, '..notes')), '..notes', 'a name that starts with .., not a parent');
  assert.equal(toStored(home, home), home, 'the home itself is not a file in it');
  // The home reached through a link: a file spelled through its real folder is still inside.
  const alias = join(tmp.dir, 'alias');
  symlinkSync(home, alias);
  const real = file(join(home, 'checkpoints', 'run-1', 'real.safetensors'));
  assert.equal(toStored(alias, real), 'checkpoints/run-1/real.safetensors');
});

test('the layout place of a checkpoint path in any home', () => {
  assert.deepEqual(checkpointPlace('/old/H/checkpoints/run-12/ckpt-1.safetensors'), {
    runId: 12,
    place: 'checkpoints/run-12/ckpt-1.safetensors',
  });
  assert.deepEqual(checkpointPlace('C:\\H\\checkpoints\\run-2\\c.safetensors'), {
    runId: 2,
    place: 'checkpoints/run-2/c.safetensors',
  });
  assert.equal(checkpointPlace('/old/H/exports/run-12/ckpt-1.safetensors'), null);
  assert.equal(checkpointPlace('/old/H/checkpoints/run-x/ckpt-1.safetensors'), null);
  assert.equal(checkpointPlace('checkpoints/run-1/c'), null, 'a place needs a home above it');
});

test('deleting inside the home works; a path that leads out (`..`, a link on the way) is refused and left alone', async () => {
  const mine = file(join(home, 'checkpoints', 'run-1', 'a.safetensors'));
  await removeInHome(home, mine);
  assert.equal(existsSync(mine), false);
  await removeInHome(home, join(home, 'never-was')); // like rm -f

  const theirs = file(join(outside, 'theirs.safetensors'));
  await assert.rejects(removeInHome(home, join(home, '..', 'outside', 'theirs.safetensors')), OutsideHomeError);
  // A copy whose run folder links into the original's.
  symlinkSync(outside, join(home, 'checkpoints', 'run-2'));
  await assert.rejects(removeInHome(home, join(home, 'checkpoints', 'run-2', 'theirs.safetensors')), (err: unknown) => {
    assert.ok(err instanceof OutsideHomeError);
    assert.match(err.message, /will not delete .*theirs\.safetensors: checkpoints\/run-2 is a link to .*outside/);
    assert.match(err.message, /outside the Plumage home/);
    return true;
  });
  assert.throws(() => removeInHomeSync(home, join(outside, 'theirs.safetensors')), OutsideHomeError);
  assert.ok(existsSync(theirs), 'the file outside is still there');
  assert.throws(() => assertWritableInHome(home, join(home, 'checkpoints', 'run-2')), /will not write to/);
  assertWritableInHome(home, join(home, 'checkpoints', 'run-3')); // not made yet: it will be, inside

  // The link itself lies in the home: removing it (or a folder holding it) removes the link only.
  await removeInHome(home, join(home, 'checkpoints', 'run-2'), { recursive: true });
  symlinkSync(outside, join(home, 'checkpoints', 'run-1', 'link'));
  await removeInHome(home, join(home, 'checkpoints'), { recursive: true });
  assert.equal(existsSync(join(home, 'checkpoints')), false);
  assert.ok(existsSync(theirs), 'what the links pointed to is untouched');
});

test('the layout is spelled in one module: no other source names a folder of the home', () => {
  // A folder name as a string ('checkpoints', `samples/…`) or a run folder built by hand (run-${…}).
  const spelled = /(['"`])(checkpoints|samples|thumbs|cache|gallery|exports)(\1|\/)|run-\$\{/;
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && e.name !== 'home-layout.ts') {
        readFileSync(path, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const code = line.trim();
            if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return; // prose
            if (spelled.test(code)) offenders.push(`${relative(REPO_ROOT, path)}:${i + 1}: ${code}`);
          });
      }
    }
  };
  walk(join(REPO_ROOT, 'main'));
  assert.deepEqual(offenders, [], 'home-layout.ts owns these names');
});
