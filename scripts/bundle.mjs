// Bundle the CLI into dist/imgpull.js (the `imgpull` bin) and the chunks it loads on demand. Node resolves, reads and
// compiles every module of an unbundled ESM graph one by one: imgpull's ~45 files and undici's
// ~60 cost ~60 ms before the first request, a third of a short run's start-up. The library
// (dist/index.js, from tsc) stays unbundled. Kept external: better-sqlite3 and sharp (native addons; sharp runs only in the transform stage's worker processes, dist/transform/worker.js), and
// log-update, loaded only when a progress line is drawn; bullmq and ioredis, loaded only by the queue
// commands (enqueue, worker, status --queue): a single-machine run never reads them.
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

// `--clean` (before tsc): dist/ goes whole. What an earlier build made and this one does not (a
// chunk, whose name carries a hash; the output of a source file since removed) would linger and
// ship with the package, whose `files` take dist/ as it is.
if (process.argv.includes('--clean')) {
  rmSync('dist', { recursive: true, force: true })
  process.exit(0)
}

await build({
  entryPoints: { imgpull: 'src/cli/bin.ts' },
  outdir: 'dist',
  // What only some runs need (tables, transforms, the report, Unsplash...) goes to chunks loaded on
  // first use: V8 parses every byte of the entry file at start-up, used or not.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'bullmq', 'ioredis', 'log-update', 'sharp'],
  // undici is CommonJS and requires Node's built-ins: give the ES module a `require`.
  banner: {
    js: "import { createRequire as __imgpullCreateRequire } from 'node:module'; const require = __imgpullCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
