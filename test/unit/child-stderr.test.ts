import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { forwardStderr } from '../../main/core/util/child-stderr.js';

const DAWN =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic ' +
  'offset allocation limit.\n';

/** Feeds `chunks` through forwardStderr; returns what was passed on and what went to the debug log. */
async function feed(chunks: string[], debug = true): Promise<{ passed: string[]; logged: string }> {
  const stream = new PassThrough();
  const passed: string[] = [];
  let logged = '';
  const write = process.stderr.write.bind(process.stderr);
  const before = process.env.PLUMAGE_DEBUG;
  process.env.PLUMAGE_DEBUG = debug ? '1' : '';
  process.stderr.write = ((s: string) => {
    logged += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    forwardStderr(stream, 'test', (t) => passed.push(t));
    for (const c of chunks) {
      stream.write(c);
      await new Promise((r) => setImmediate(r));
    }
    stream.end();
    await new Promise((r) => stream.once('end', r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.stderr.write = write;
    process.env.PLUMAGE_DEBUG = before;
  }
  return { passed, logged };
}

test("Dawn's warnings are held back, however the chunks cut them; everything else passes unchanged", async () => {
  const text = `plumage trainer: something broke\n${DAWN}${DAWN.replace('Uniform', 'Storage')}last line, no newline`;
  for (const cut of [1, 3, 9, 40, text.length]) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += cut) chunks.push(text.slice(i, i + cut));
    const { passed } = await feed(chunks, false);
    assert.equal(passed.join(''), 'plumage trainer: something broke\nlast line, no newline', `chunks of ${cut}`);
  }
});

test("a line that cannot be Dawn's is passed on before it ends (a progress line), and its rest after it", async () => {
  const { passed } = await feed(['[1/2] upsc', 'aling 50 %', '\rWarn', 'ing: not at a line start\n']);
  assert.deepEqual(passed.slice(0, 2), ['[1/2] upsc', 'aling 50 %']);
  assert.equal(passed.join(''), '[1/2] upscaling 50 %\rWarning: not at a line start\n');
});

test("with PLUMAGE_DEBUG=1 each of Dawn's lines is logged once, naming the process; else nothing", async () => {
  const marker = `Warning: a line only this test prints ${process.pid}\n`;
  const quiet = await feed([marker], false);
  assert.equal(quiet.logged, '');
  const { passed, logged } = await feed([marker, marker]);
  assert.deepEqual(passed, []);
  assert.equal(logged, `plumage debug: Dawn (in the test process): ${marker}`);
});

test("Dawn's line naming its own source (a machine without Vulkan) is held back; a JavaScript stack is not", async () => {
  const dawnSource =
    '    at CheckVkSuccessImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/' +
    'vulkan/VulkanError.cpp:106)\n\n'; // Dawn ends it with an empty line
  const jsStack =
    'Error: boom\n\n    at main (file:///app/dist/main/plumage.js:12:3)\n    at dawn (node:internal/x:1:1)\n';
  for (const cut of [1, 5, 200]) {
    const text = `${dawnSource}${jsStack}`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += cut) chunks.push(text.slice(i, i + cut));
    const { passed } = await feed(chunks, false);
    assert.equal(passed.join(''), jsStack, `chunks of ${cut}`);
  }
});

test('an indented progress line rewritten with \\r and never ended (a projection) is passed on at once', async () => {
  const chunks = ['    step 10/2000  distance 1.76', '  PSNR 8.1 dB\r', '    step 20/2000  distance 1.36\r'];
  const { passed } = await feed(chunks, false);
  // Each piece as it comes, not held for a line end that never comes.
  assert.deepEqual(passed.slice(0, 2), chunks.slice(0, 2));
  assert.equal(passed.join(''), chunks.join(''));
});
