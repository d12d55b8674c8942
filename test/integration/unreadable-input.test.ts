import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Studio } from '../../main/core/studio.js';
import {
  PERMISSION_DENIED,
  onPseudoFilesystem,
  readCapped,
  whyNotDatasetFolder,
} from '../../main/core/dataset/scan.js';
import { REPO_ROOT, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

let tmp: ReturnType<typeof tempDir>;
let studio: Studio;

before(() => {
  tmp = tempDir('unreadable');
  studio = Studio.open({ home: join(tmp.dir, 'home'), resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server' });
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

test('pseudo-filesystems and the filesystem root are refused before anything is read or written', async () => {
  for (const folder of ['/proc/self', '/proc', '/sys/kernel', '/dev', '/']) {
    await assert.rejects(
      studio.handle('openDataset', { folder, resolution: 64, crop: 'centre' }),
      (err: Error & { code?: string }) =>
        err.code === 'unsupported' && /system folder|pseudo-filesystem|root of the filesystem/.test(err.message),
      folder,
    );
  }
  await assert.rejects(studio.ingestOnce('/proc/self', 64, 'centre'), /system folder/);
  assert.deepEqual(await studio.listDatasets(), []);
  // A link to procfs is judged by where it leads.
  const { symlinkSync } = await import('node:fs');
  symlinkSync('/proc/self', join(tmp.dir, 'innocent'));
  assert.match((await whyNotDatasetFolder(join(tmp.dir, 'innocent')))!, /system folder \(\/proc\)/);
  assert.equal(await whyNotDatasetFolder(tmp.dir), null);
  // Mounted elsewhere, a pseudo-filesystem is known by its statfs type, not its path.
  if (process.platform === 'linux') {
    assert.equal(await onPseudoFilesystem('/proc'), true);
    assert.equal(await onPseudoFilesystem('/sys'), true);
    assert.equal(await onPseudoFilesystem(tmp.dir), false);
  }
});

test('reads are capped by the bytes that come back, not by the size stat reports', async () => {
  // procfs files report size 0 yet have content.
  const status = await readCapped('/proc/self/status', 1 << 20);
  assert.ok(status && /VmRSS/.test(status.toString()), 'procfs content read despite size 0');
  const file = join(tmp.dir, 'ten.bin');
  writeFileSync(file, Buffer.alloc(10, 7));
  assert.equal((await readCapped(file, 10))?.length, 10);
  assert.equal(await readCapped(file, 9), null);
  assert.equal((await readCapped(file, 1 << 30))?.length, 10);
});

test('unreadable files and folders are rejected with a reason; the watched pass carries on', async () => {
  // Permissions do not bind root: as root, the ingest runs in a child without the capabilities that
  // override them (util-linux's setpriv drops them from the bounding set). It stays root, so it can
  // still read a checkout under a private folder (CI's may be mode 0700, which `nobody` could not).
  const asRoot = process.getuid?.() === 0;
  const folder = join(tmp.dir, 'plates');
  mkdirSync(join(folder, 'locked'), { recursive: true });
  const [plate] = readdirSync(SAMPLE_PLATES).filter((f) => f.endsWith('.jpg'));
  copyFileSync(join(SAMPLE_PLATES, plate!), join(folder, 'ok.jpg'));
  copyFileSync(join(SAMPLE_PLATES, plate!), join(folder, 'locked', 'inside.jpg'));
  writeFileSync(join(folder, 'secret.png'), 'not readable by anyone but its owner');
  const home = join(tmp.dir, 'home-nobody');
  mkdirSync(home);
  chmodSync(join(folder, 'secret.png'), 0);
  chmodSync(join(folder, 'locked'), 0);
  // The app's way: open the folder (watched) and wait for the pass to settle.
  const script = `
    import { Studio } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'main', 'core', 'studio.js'))};
    const s = Studio.open({ home: ${JSON.stringify(home)}, resourcesDir: '/nonexistent', shell: 'server', settleMs: 50 });
    const d = await s.openDataset({ folder: ${JSON.stringify(folder)}, resolution: 64, crop: 'centre' });
    let phase = '';
    s.on('ingestProgress', (p) => { phase = p.phase + (p.error ? ': ' + p.error : ''); });
    for (let i = 0; i < 200 && !/watching|error/.test(phase); i++) await new Promise((r) => setTimeout(r, 50));
    const rejected = await s.listSources({ datasetId: d.id, status: 'rejected', offset: 0, limit: 10 });
    const accepted = await s.listSources({ datasetId: d.id, status: 'accepted', offset: 0, limit: 10 });
    console.log(JSON.stringify({ phase, rejected: rejected.items, accepted: accepted.items.map((i) => i.file) }));
    await s.close();
  `;
  const node = [process.execPath, '--input-type=module', '-e', script];
  const [command, ...args] = asRoot ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', ...node] : node;
  const { stdout } = await promisify(execFile)(command!, args, { timeout: 30_000 });
  const out = JSON.parse(stdout) as { phase: string; rejected: { file: string; reason: string }[]; accepted: string[] };
  assert.equal(out.phase, 'watching');
  assert.deepEqual(out.accepted, ['ok.jpg']);
  const reasons = Object.fromEntries(out.rejected.map((r) => [r.file, r.reason]));
  assert.equal(reasons['secret.png'], PERMISSION_DENIED);
  assert.equal(reasons['locked'], `${PERMISSION_DENIED} (a folder)`);
});
