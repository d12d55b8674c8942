import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { checkUserFile, openUserFile, UserFileError } from '../../main/core/util/user-file.js';
import { mkfifo, releasePipes } from '../helpers/hostile-files.js';
import { tempDir } from '../helpers/paths.js';

const tmp = tempDir('user-file');
const at = (name: string): string => join(tmp.dir, name);
after(() => {
  releasePipes([at('pipe')]);
  tmp.cleanup();
});

test('what is not a regular file is refused by what it is, naming it', async () => {
  mkdirSync(at('folder'));
  mkfifo(at('pipe'));
  symlinkSync('/dev/zero', at('zero'));
  symlinkSync(at('loop'), at('loop'));
  const socket = createServer().listen(at('socket'));
  try {
    const cases: [string, RegExp, string][] = [
      ['missing', /^no such file: .*missing \(the image file\)$/, 'not-found'],
      ['folder', /folder is a folder, not an image file$/, 'invalid-input'],
      ['pipe', /pipe is a named pipe, not an image file$/, 'invalid-input'],
      ['zero', /zero links to \/dev\/zero, a device, not an image file$/, 'invalid-input'],
      ['loop', /loop is a symlink loop/, 'invalid-input'],
      ['socket', /socket is a socket, not an image file$/, 'invalid-input'],
    ];
    for (const [name, says, code] of cases) {
      const checked = await checkUserFile(at(name), 'image file');
      assert.equal(checked.ok, false, name);
      await assert.rejects(openUserFile(at(name), 'image file'), (err: unknown) => {
        assert.ok(err instanceof UserFileError, name);
        assert.match(err.message, says, name);
        assert.equal(err.code, code, name);
        return true;
      });
    }
    const devNull = await checkUserFile('/dev/null', 'image file');
    assert.match(devNull.ok ? '' : devNull.error.message, /^\/dev\/null is a device, not an image file$/);
  } finally {
    socket.close();
  }
});

test('reads stay inside the size the file had when it was opened', async () => {
  writeFileSync(at('ten'), '0123456789');
  const f = await openUserFile(at('ten'), 'image file');
  try {
    appendFileSync(at('ten'), 'more bytes written after the open');
    assert.equal(f.size, 10);
    assert.equal((await f.read(2, 3)).toString(), '234');
    await assert.rejects(f.read(8, 4), /ten is 10 bytes; a read up to byte 12 is past its end/);
    await assert.rejects(f.read(-1, 2), /makes no sense/);
  } finally {
    await f.close();
  }
});
