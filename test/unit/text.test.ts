import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWithin } from '../../main/core/export/folder.js';
import {
  forTerminal,
  jsonForTerminal,
  whyBadFileName,
  whyUnsafeText,
  MAX_FILE_NAME_BYTES,
} from '../../main/core/util/text.js';

test('text that acts on a terminal or reorders its neighbours is refused; any script and the marks are not', () => {
  for (const ok of ['Avis fictitia', 'Ptérodactyle 鳥 🐦', 'עוף\u200f נדיר', 'طائر\u061c', 'a\u200db'])
    assert.equal(whyUnsafeText(ok), null, ok);
  const cases: [string, RegExp][] = [
    ['\u001b]0;x\u0007', /control characters .*U\+001B/],
    ['a\u009bb', /U\+009B/],
    ['a\u007fb', /U\+007F/],
    ['line\u2028break', /U\+2028/],
    ['sheet\u202efdp.exe', /U\+202E, a character that reorders/],
    ['x\u2066y', /U\+2066/],
  ];
  for (const [text, why] of cases) assert.match(whyUnsafeText(text) ?? '', why, JSON.stringify(text));
  assert.equal(whyUnsafeText('one\ntwo\tthree\r\n', true), null, 'a note keeps its lines and tabs');
  assert.match(whyUnsafeText('one\ntwo') ?? '', /line breaks/, 'a name does not');
  assert.match(whyUnsafeText('x\u001b[31m', true) ?? '', /U\+001B/);
});

test('file names: measured in UTF-8 bytes, no separators, nothing hidden or reserved', () => {
  assert.equal(whyBadFileName('鳥'.repeat(85)), null, '255 bytes');
  assert.match(whyBadFileName('鳥'.repeat(86)) ?? '', /is 258 bytes long; a file name can have at most 255/);
  assert.equal(MAX_FILE_NAME_BYTES, 255);
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', '.hidden', 'x ', 'x.', 'a:b', 'a?b', 'a\u202eb', 'a\nb'])
    assert.ok(whyBadFileName(bad), JSON.stringify(bad));
});

test('the terminal sees escapes, JSON stays exact', () => {
  const hostile = 'a\u001b]0;t\u0007b\u009bc\u202ed\ne\tf\u007f';
  assert.equal(forTerminal(hostile), 'a\\e]0;t\\x07b\\x9bc\\u202ed\\ne\\tf\\x7f');
  assert.equal(forTerminal('x\ny\tz', true), 'x\ny\tz', 'lines the CLI writes itself keep their breaks');
  const json = jsonForTerminal({ note: hostile });
  assert.doesNotMatch(json, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/u); // eslint-disable-line no-control-regex
  assert.deepEqual(JSON.parse(json), { note: hostile });
});

test('isWithin: a folder and what lies below it, not its neighbours', () => {
  assert.ok(isWithin('/h', '/h'));
  assert.ok(isWithin('/h', '/h/exports/x'));
  assert.ok(!isWithin('/h', '/home'));
  assert.ok(!isWithin('/h/exports', '/h/exports-old'));
  assert.ok(!isWithin('/h', '/'));
  assert.ok(isWithin('/h', '/h/..x'), 'a name that starts with two dots is inside');
});
