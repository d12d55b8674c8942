import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateRequest } from '../../main/core/api/validate.js';

test('insight requests are checked at the boundary like every other', () => {
  assert.deepEqual(validateRequest('computeMetrics', { generator: { runId: 2 }, images: 300 }), {
    generator: { runId: 2 },
    images: 300,
  });
  assert.throws(
    () => validateRequest('computeMetrics', { generator: { runId: 2 }, images: 1 }),
    /invalid input for computeMetrics: images: must be a whole number from 2 to 5000/,
  );
  assert.throws(() => validateRequest('computeMetrics', { generator: { runId: 2 }, extra: 1 }), /invalid input/);
  // findNearest takes an image or a bird, not both, not neither.
  validateRequest('findNearest', { datasetId: 1, image: '/x.png', k: 3 });
  validateRequest('findNearest', {
    datasetId: 1,
    bird: { generator: { file: '/g.safetensors' }, seed: 4, psi: 0.7, noiseMode: 'const' },
  });
  assert.throws(() => validateRequest('findNearest', { datasetId: 1 }), /invalid input for findNearest/);
  assert.throws(() => validateRequest('findNearest', { datasetId: 1, image: '/x.png', k: 51 }), /invalid input/);
  assert.throws(
    () => validateRequest('computeDirections', { generator: { runId: 1 }, method: 'pca', layers: 'all' }),
    /method: must be sefa or ganspace/,
  );
  assert.throws(
    () => validateRequest('projectImage', { generator: { runId: 1 }, image: '/x.png', steps: 0 }),
    /steps: must be a whole number from 1 to 5000/,
  );
  assert.throws(
    () =>
      validateRequest('projectImage', { generator: { runId: 1 }, image: '/x.png', video: { format: 'mov', every: 5 } }),
    /video\.format: must be webp, gif, mp4, png/,
  );
  assert.throws(
    () =>
      validateRequest('projectImage', { generator: { runId: 1 }, image: '/x.png', video: { format: 'gif', every: 0 } }),
    /video\.every: must be a whole number from 1/,
  );
  validateRequest('projectImage', { generator: { runId: 1 }, image: '/x.png', video: { format: 'png' } });
  assert.throws(() => validateRequest('cancelProjection', { jobId: -1 }), /invalid input/);
});
