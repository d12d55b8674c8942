// Lint: typescript-eslint for the Node side and the renderer, eslint-plugin-svelte for components,
// and the process boundary from ../shared/STYLE.md as no-restricted-imports rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/**
 * Synchronous tensor reads cannot run on WebGPU in Node (tfjs reads through OffscreenCanvas,
 * which Node lacks): read with `await t.data()` or main/core/util/read.ts. Where a CPU backend
 * is certain, a line may allow itself with an eslint-disable comment that says why.
 */
const syncRead = (property) => ({
  property,
  message: `${property}() fails on WebGPU in Node: use await t.data() (main/core/util/read.ts).`,
});
const noSyncReads = ['error', syncRead('dataSync'), syncRead('arraySync'), syncRead('bufferSync')];

const noElectron = { name: 'electron', message: 'Only main/app may import electron: the core stays Electron-free.' };
const shellsApart = 'Shells never import each other: share through main/core.';
const noIpcRenderer = { selector: "Identifier[name='ipcRenderer']", message: 'Only preload/ touches ipcRenderer.' };

/**
 * Shells reach the core through the facade alone: Studio's request methods (the contract's API,
 * what the app can call) and its lifecycle (open, resume, warmUp, pauseAll, close, events), never
 * the services behind it. A line that must reach behind says why in its eslint-disable comment.
 */
const facadeOnly = {
  selector: 'MemberExpression[property.name=/^(training|gallery|exports|insight|datasetService|datasets|db)$/]',
  message: "Shells call the facade's requests (Studio's methods), not the services behind it (issue #18).",
};

/** import('…/cli/…') and the like, with a string or a template literal as the specifier. */
const dynamicImportsOf = (others) =>
  others.flatMap((other) => {
    const path = `/(^|\\/)${other}\\//`;
    return [
      { selector: `ImportExpression > Literal.source[value=${path}]`, message: shellsApart },
      {
        selector: `ImportExpression > TemplateLiteral.source > TemplateElement[value.raw=${path}]`,
        message: shellsApart,
      },
    ];
  });

/** main/<shell> may import neither the other shells (statically or dynamically) nor, but for the app, electron. */
const shellBoundary = (shell, others, syntax = []) => [
  {
    files: [`main/${shell}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: shell === 'app' ? [] : [noElectron],
          patterns: [{ group: others.map((o) => `**/${o}/*`), message: shellsApart }],
        },
      ],
      'no-restricted-syntax': ['error', ...dynamicImportsOf(others), facadeOnly, ...syntax],
    },
  },
];

export default tseslint.config(
  { ignores: ['dist/', '.dist-*/', 'release/', 'node_modules/', 'test/artifacts/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-restricted-properties': noSyncReads,
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
    },
  },
  // Type-aware rules for the bugs a type checker alone lets through: a promise nobody awaits or
  // catches (its rejection ends a Node process), and a promise handed to something that expects a
  // plain function (an event handler, a forEach callback). Each file is checked with the
  // tsconfig.json nearest to it (main + test, preload, renderer); `void p` marks a promise that is
  // deliberately not awaited, and its rejection must be handled where it is made.
  {
    files: ['**/*.ts', '**/*.svelte'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['renderer/vite.config.ts', 'preload/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() returns a promise the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser }, globals: { ...globals.browser } },
    // Svelte's own prefer-const knows that `let { … } = $props()` is the idiom.
    rules: { 'prefer-const': 'off', 'svelte/prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  // The process boundary.
  {
    files: ['main/core/**', 'main/cli/**', 'main/server/**', 'main/plumage.ts', 'test/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron] }] },
  },
  // The core below its API (the store, the dataset pipeline, the GAN, file formats) speaks
  // main/common's words; only the API's implementers (the studio, api/, the services) import the contract.
  {
    files: [
      'main/core/store/**',
      'main/core/dataset/**',
      'main/core/gan/**',
      'main/core/kernels/**',
      'main/core/runtime/**',
      'main/core/parallel/**',
      'main/core/netfile/**',
      'main/core/util/**',
    ],
    // The dataset service answers the API's dataset requests, as gallery/, export/ and insight/'s services do theirs.
    ignores: ['main/core/dataset/service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            {
              group: ['**/preload/*'],
              message: 'Below the API the core imports main/common (the vocabulary), not the contract.',
            },
          ],
        },
      ],
    },
  },
  // gan/ is the paper: its files import each other, the fused kernels, util/ and the vocabulary,
  // never the runtime, parallel or file-format code around them (nor, so, the contract).
  {
    files: ['main/core/gan/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [
            {
              regex: '^\\.\\./(?!kernels/|util/|\\.\\./common/)',
              message: 'gan/ is the paper: it imports kernels/, util/ and main/common, not the core around it.',
            },
          ],
        },
      ],
    },
  },
  // Shells never import each other, statically or through import(): no-restricted-imports sees
  // only import declarations, so a selector catches import() of another shell's folder too.
  ...shellBoundary('cli', ['server', 'app']),
  ...shellBoundary('server', ['cli', 'app']),
  ...shellBoundary('app', ['cli', 'server'], [noIpcRenderer]),
  {
    files: ['main/app/**'],
    ignores: ['main/app/ipc.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...dynamicImportsOf(['cli', 'server']),
        { selector: "Identifier[name='ipcMain']", message: 'Only main/app/ipc.ts touches ipcMain.' },
        noIpcRenderer,
        facadeOnly,
      ],
    },
  },
  {
    files: ['renderer/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron],
          patterns: [{ group: ['node:*'], message: 'The renderer runs in a sandboxed page: no Node built-ins.' }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'Identifier[name=/^ipc(Main|Renderer)$/]', message: 'The renderer talks to PlumageApi only.' },
      ],
    },
  },
  {
    files: ['preload/contract.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\.\\./main/common/[\\w-]+\\.js$)',
              message: 'The contract depends on the vocabulary (main/common) alone.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['preload/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/*', '**/main/**'],
              message: 'The preload is the bridge alone: it imports the contract, never main/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['main/common/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(?!\\./[\\w-]+\\.js$)', message: 'main/common is a leaf: it imports nothing but itself.' },
          ],
        },
      ],
    },
  },
);
