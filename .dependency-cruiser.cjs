// Import boundaries between Clawdesk's layers, checked by `npm run lint` (docs/architecture.md has the picture).
// Paths are resolved the way TypeScript resolves them, and type-only imports count: a cycle through types is
// still a cycle a reader has to untangle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles anywhere: move the shared piece down into a module both sides can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'gateway-is-headless',
      severity: 'error',
      comment:
        'gateway/ runs without Electron (the CLI, the tests, the node host): it never imports electron or the desktop processes.',
      from: { path: '^gateway/' },
      to: { path: ['^main/', '^preload/', '^renderer/', '^common/', '^node_modules/electron/', '^electron$'] },
    },
    {
      name: 'protocol-and-fs-are-the-bottom',
      severity: 'error',
      comment:
        'gateway/protocol and gateway/fs import nothing of the project above them (only each other, node and npm packages).',
      from: { path: '^gateway/(protocol|fs)/' },
      to: { path: '^(gateway|main|preload|renderer|common|bench|scripts|test)/', pathNot: '^gateway/(protocol|fs)/' },
    },
    {
      name: 'nodes-below-approvals',
      severity: 'error',
      comment:
        'gateway/nodes (registry, pairing, presence, invoke routing) knows nothing of exec approvals: approvals plug in through the SystemRunGate hook.',
      from: { path: '^gateway/nodes/' },
      to: { path: '^gateway/approvals/' },
    },
    {
      name: 'common-imports-nothing',
      severity: 'error',
      comment:
        'common/ holds the contracts every process owns (the IPC contract); it imports nothing, not even at runtime.',
      from: { path: '^common/' },
      to: { pathNot: '^common/' },
    },
    {
      name: 'renderer-sees-only-the-contract',
      severity: 'error',
      comment:
        'The renderer is a sandboxed page: its own files and the IPC contract in common/, nothing else (no node, no npm, no main).',
      from: { path: '^renderer/' },
      to: { pathNot: ['^renderer/', '^common/'] },
    },
    {
      name: 'preload-sees-only-the-contract',
      severity: 'error',
      comment: 'The sandboxed preload may require only electron; besides that, its own files and the IPC contract.',
      from: { path: '^preload/' },
      to: { pathNot: ['^preload/', '^common/', '^electron$', '^node_modules/electron/'] },
    },
    {
      name: 'product-never-imports-tests',
      severity: 'error',
      comment: 'What ships (gateway, main, preload, renderer, common) never imports tests or benchmarks.',
      from: { path: '^(gateway|main|preload|renderer|common)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|out|node_modules|\\.cache|test-artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
