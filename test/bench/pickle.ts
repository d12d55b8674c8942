/**
 * `npm run bench -- pickle [--resolution 512] [--repeats 3]`: opening a network pickle against
 * reading its file twice over, and the reader's peak memory against the tensors' size (the
 * issue's targets: open ≤ two reads, peak ≤ 2× the tensors). The pickle is synthesised into a
 * temp folder with the reference's structure at the reference's size for that resolution (512²:
 * channel_base 32768, 8 mapping layers; about 350 MB for G, D and G_ema), then measured in fresh
 * child processes so neither the writer's memory nor a previous run's is counted. JSON lines.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { presetConfig, type GanConfig } from '../../main/core/gan/config.js';
import { discriminatorSpecs } from '../../main/core/gan/discriminator.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import type { ParamSpec } from '../../main/core/gan/params.js';
import { encode, legacyStorage, persistent, tensor, type V } from '../helpers/pickles.js';
import { runChild } from './child.js';

const CHILD = fileURLToPath(new URL('./pickle-child.js', import.meta.url));

interface Tree {
  tensors: [string, ParamSpec][];
  children: Map<string, Tree>;
}

/** A module tree from dotted names, as the reference's `_modules` nest them. */
function tree(specs: ParamSpec[]): Tree {
  const root: Tree = { tensors: [], children: new Map() };
  for (const spec of specs) {
    const parts = spec.name.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!node.children.has(p)) node.children.set(p, { tensors: [], children: new Map() });
      node = node.children.get(p)!;
    }
    node.tensors.push([parts[parts.length - 1]!, spec]);
  }
  return root;
}

let seed = 1;
function values(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = (seed / 2 ** 32 - 0.5) * 0.1;
  }
  return out;
}

function moduleValue(t: Tree, className: string, kwargs: V): V {
  const params: [V, V][] = [];
  for (const [name, spec] of t.tensors) {
    const n = spec.refShape.reduce((a, b) => a * b, 1);
    params.push([name, tensor(legacyStorage(n, values(n)), spec.refShape)]);
  }
  const children: [V, V][] = [...t.children].map(([name, child]) => [name, moduleValue(child, 'Module', { dict: [] })]);
  return persistent(className, [
    ['training', false],
    ['_parameters', { call: 'collections.OrderedDict', args: [{ list: [] }] }],
    ['_buffers', { dict: params }],
    ['_modules', { dict: children }],
    ['_init_kwargs', kwargs],
  ]);
}

/** Writes a stylegan2-ada-pytorch-shaped snapshot of `config`'s networks; returns the tensors' bytes. */
export function writeSnapshot(file: string, c: GanConfig): number {
  const fd = openSync(file, 'w');
  let tensorBytes = 0;
  try {
    const gKwargs: V = {
      dict: [
        ['z_dim', c.zDim],
        ['w_dim', c.wDim],
        ['c_dim', 0],
        ['img_resolution', c.resolution],
        ['img_channels', c.imgChannels],
        ['mapping_kwargs', { dict: [['num_layers', c.mappingLayers]] }],
        [
          'synthesis_kwargs',
          {
            dict: [
              ['channel_base', c.channelBase],
              ['channel_max', c.channelMax],
            ],
          },
        ],
      ],
    };
    const dKwargs: V = {
      dict: [
        ['channel_base', c.channelBase],
        ['channel_max', c.channelMax],
      ],
    };
    writeSync(fd, Buffer.from([0x80, 0x04, 0x7d, 0x28])); // PROTO 4, EMPTY_DICT, MARK
    for (const [key, specs, cls, kwargs] of [
      ['G', generatorSpecs(c), 'Generator', gKwargs],
      ['D', discriminatorSpecs(c), 'Discriminator', dKwargs],
      ['G_ema', generatorSpecs(c), 'Generator', gKwargs],
    ] as const) {
      tensorBytes += specs.reduce((a, s) => a + s.refShape.reduce((x, y) => x * y, 1) * 4, 0);
      writeSync(fd, encode(key));
      writeSync(fd, encode(moduleValue(tree(specs), cls, kwargs)));
    }
    writeSync(fd, Buffer.from([0x75, 0x2e])); // SETITEMS, STOP
  } finally {
    closeSync(fd);
  }
  return tensorBytes;
}

interface ChildReport {
  ms: number;
  peakRssMB: number;
  baselineRssMB: number;
}

export async function benchPickle(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: { resolution: { type: 'string', default: '512' }, repeats: { type: 'string', default: '3' } },
  });
  const resolution = Number(v.resolution);
  const repeats = Number(v.repeats);
  // The reference's 'auto' config: channel_base 32768 from 512² up, 16384 below; 8 mapping layers.
  const config = presetConfig('512', {
    resolution,
    channelBase: resolution >= 512 ? 32768 : 16384,
    mappingLayers: 8,
  });
  const dir = mkdtempSync(join(tmpdir(), 'plumage-bench-pickle-'));
  try {
    const file = join(dir, 'network-snapshot-001000.pkl');
    const tensorBytes = writeSnapshot(file, config);
    const fileBytes = statSync(file).size;
    const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const twice: ChildReport[] = [];
    const open: ChildReport[] = [];
    const load: ChildReport[] = [];
    for (let i = 0; i < repeats; i++) {
      twice.push((await runChild<ChildReport>(CHILD, ['read-twice', file])).result);
      open.push((await runChild<ChildReport>(CHILD, ['open', file])).result);
      load.push((await runChild<ChildReport>(CHILD, ['open-and-read', file])).result);
    }
    const mb = (b: number): number => Math.round(b / 2 ** 20);
    const openMs = med(open.map((r) => r.ms));
    const loadMs = med(load.map((r) => r.ms));
    const twiceMs = med(twice.map((r) => r.ms));
    const peak = Math.max(...load.map((r) => r.peakRssMB - r.baselineRssMB));
    console.log(
      JSON.stringify({
        bench: 'pickle',
        resolution,
        fileMB: mb(fileBytes),
        tensorsMB: mb(tensorBytes),
        readFileTwiceMs: Math.round(twiceMs),
        openMs: Math.round(openMs),
        openAndReadEveryTensorMs: Math.round(loadMs),
        openOverTwoReads: Math.round((loadMs / twiceMs) * 100) / 100,
        peakRssAboveBaselineMB: Math.round(peak),
        peakOverTensors: Math.round((peak / mb(tensorBytes)) * 100) / 100,
        repeats,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
