import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { tempDir } from '../helpers/paths.js';

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
  assert.equal(
    checkpointPlace('/old/H/checkpoints/run-12/ckpt-1.safetensors'),
    'checkpoints/run-12/ckpt-1.safetensors',
  );
  assert.equal(checkpointPlace('C:\\H\\checkpoints\\run-2\\c.safetensors'), 'checkpoints/run-2/c.safetensors');
  assert.equal(checkpointPlace('/old/H/exports/run-12/ckpt-1.safetensors'), null);
  assert.equal(checkpointPlace('/old/H/checkpoints/run-x/ckpt-1.safetensors'), null);
  assert.equal(checkpointPlace('checkpoints/run-1/c'), null, 'an absolute path only');
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
