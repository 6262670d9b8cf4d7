// Bundle the CLI: dist/imgpull.js (the `imgpull` bin, from src/cli/bin.ts) sets V8's flags and
// runs dist/imgpull.cjs (the command, from src/cli/start.ts) with V8's code cache (see
// src/cli/code-cache.ts). Node resolves, reads and compiles every module of an unbundled ESM
// graph one by one, and Node 20 keeps no compiled code between runs; a CommonJS script compiled
// through `vm.Script` can hand V8 the code it compiled in the last run. One script, not chunks:
// V8 compiles a function only when first called, and with the cache it parses none of it. The
// library (dist/index.js, from tsc) stays unbundled, and so do the processes' modules
// (dist/transform/worker.js...); the transfer thread's is bundled on its own (see the end). Kept
// external: sharp (a native addon, run only in the transform stage's worker processes,
// dist/transform/worker.js), better-sqlite3's addon (see below); bullmq and ioredis, required only
// by the queue commands (enqueue, worker, status --queue).
import { createHash } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

// `--clean` (before tsc): dist/ goes whole. What an earlier build made and this one does not (the
// output of a source file since removed) would linger and ship with the package, whose `files`
// take dist/ as it is.
if (process.argv.includes('--clean')) {
  rmSync('dist', { recursive: true, force: true })
  process.exit(0)
}

const EXTERNAL = ['bullmq', 'ioredis', 'sharp', 'bindings', 'better-sqlite3/package.json']

// better-sqlite3's JavaScript is bundled (in the code cache with the rest: required from
// node_modules, its 12 files cost ~7 ms of CPU a run, resolved and compiled one by one); its addon
// stays where its install put it. `bindings` finds that by the calling file's package, which
// bundled would be imgpull's: the addon is loaded from better-sqlite3's build/Release (where
// prebuild-install and node-gyp put it), else through `bindings` told better-sqlite3's folder,
// which then says what is missing as it always did (see nativeFaultParts, src/utils/own-code.ts).
const sqliteAddon = {
  name: 'sqlite-addon',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^bindings$/ }, ({ importer }) =>
      importer.includes('/better-sqlite3/') ? { path: 'bindings', namespace: 'sqlite-addon' } : undefined,
    )
    esbuild.onLoad({ filter: /.*/, namespace: 'sqlite-addon' }, () => ({
      loader: 'js',
      contents: `module.exports = (name) => {
  const { dirname, join } = require('node:path')
  const root = dirname(require.resolve('better-sqlite3/package.json'))
  try {
    return require(join(root, 'build', 'Release', name))
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error
    return require('bindings')({ bindings: name, module_root: root })
  }
}`,
    }))
  },
}

// A script compiled with a code cache loses its `import()` (Node 20: "A dynamic import callback
// was not specified"): an `import()` of a built-in or an external package is a `require` here.
// ES-only packages (log-update) are bundled instead.
const importAsRequire = {
  name: 'import-as-require',
  setup(esbuild) {
    esbuild.onResolve({ filter: /.*/ }, ({ kind, path }) => {
      if (kind === 'dynamic-import' && (path.startsWith('node:') || EXTERNAL.includes(path)))
        return { path, namespace: 'required' }
    })
    esbuild.onLoad({ filter: /.*/, namespace: 'required' }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)})`,
      loader: 'js',
    }))
  },
}

const command = await build({
  entryPoints: { imgpull: 'src/cli/start.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: EXTERNAL,
  plugins: [importAsRequire, sqliteAddon],
  // The modules find their package, threads and workers from their own file (dist/imgpull.cjs).
  define: { 'import.meta.url': '__imgpullUrl' },
  banner: { js: "var __imgpullUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import.meta.resolve is used only from source (tsx), where import.meta.url ends in .ts.
  logOverride: { 'empty-import-meta': 'silent' },
  // Fewer bytes to read and hand V8 each run (2.4 MB as written, 1.7 MB so): 5-9 ms less of the
  // child's CPU to its first request, in three alternations of 11-15 runs. Names are kept, as
  // stack traces and error classes show them.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
})
const dynamic = Object.values(command.metafile.outputs).flatMap((output) =>
  output.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path),
)
if (dynamic.length > 0) throw new Error(`dist/imgpull.cjs would import() ${dynamic.join(', ')}: require it`)

await build({
  entryPoints: { imgpull: 'src/cli/bin.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Names the code cache (see src/cli/code-cache.ts): V8 checks a cache's source by its length only.
  // Its import of start.js serves the unbundled bin (dist/cli/bin.js) only: the bundle is run instead.
  plugins: [
    {
      name: 'start-unbundled',
      setup: (esbuild) =>
        esbuild.onResolve({ filter: /^\.\/start\.js$/ }, ({ path }) => ({ path, external: true })),
    },
  ],
  define: {
    IMGPULL_BUNDLE_BUILD: JSON.stringify(
      createHash('sha256').update(readFileSync('dist/imgpull.cjs')).digest('hex').slice(0, 16),
    ),
  },
  logLevel: 'warning',
})

// The transfer thread's code, in place of tsc's dist/fetch/transfer-worker.js: one module, where a
// thread resolved, read and compiled the ~100 of its graph one by one as it started (165 ms of CPU
// a thread to its first message, 62 ms so, here). It names itself as a file of dist/ (as
// dist/imgpull.cjs does), from which its modules find their package.
await build({
  entryPoints: ['src/fetch/transfer-worker.ts'],
  outfile: 'dist/fetch/transfer-worker.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  define: { 'import.meta.url': '__imgpullUrl' },
  banner: {
    js: [
      "import { createRequire as __imgpullRequire } from 'node:module';",
      "const __imgpullUrl = new URL('../transfer-worker.js', import.meta.url).href;",
      // Bundled CommonJS (undici) requires Node's modules.
      'const require = __imgpullRequire(import.meta.url);',
    ].join('\n'),
  },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
})
