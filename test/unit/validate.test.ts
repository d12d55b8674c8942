import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError, validateRequest } from '../../main/core/api/validate.js';

test('valid requests pass through unchanged', () => {
  assert.deepEqual(validateRequest('openDataset', { folder: '/p', resolution: 256, crop: 'pad' }), {
    folder: '/p',
    resolution: 256,
    crop: 'pad',
  });
  assert.equal(validateRequest('listDatasets', undefined), undefined);
  assert.equal(validateRequest('listDatasets', {}), undefined);
});

test('bad input is refused with a message naming the field', () => {
  const cases: [Parameters<typeof validateRequest>[0], unknown, RegExp][] = [
    ['openDataset', { folder: '/p', resolution: 300, crop: 'centre' }, /resolution/],
    ['openDataset', { folder: '', resolution: 256, crop: 'centre' }, /folder: choose a folder/],
    ['openDataset', { folder: '/p', resolution: 256, crop: 'zoom' }, /crop/],
    ['openDataset', { folder: '/p', resolution: 256, crop: 'centre', extra: 1 }, /extra/],
    ['getDataset', { datasetId: -1 }, /datasetId/],
    ['getDataset', { datasetId: '1' }, /datasetId/],
    ['listSources', { datasetId: 1, status: 'accepted', offset: 0, limit: 10_000 }, /limit/],
    ['listDatasets', { sneaky: true }, /listDatasets/],
  ];
  for (const [name, params, pattern] of cases) {
    assert.throws(
      () => validateRequest(name, params),
      (err: unknown) => err instanceof InvalidInputError && err.code === 'invalid-input' && pattern.test(err.message),
      `${name} ${JSON.stringify(params)}`,
    );
  }
});

test('an unknown request name is refused', () => {
  assert.throws(() => validateRequest('deleteEverything' as never, {}), /unknown request/);
});
