// Bundle the CLI into one file, dist/imgpull.js (the `imgpull` bin). Node resolves, reads and
// compiles every module of an unbundled ESM graph one by one: imgpull's ~45 files and undici's
// ~60 cost ~60 ms before the first request, a third of a short run's start-up. The library
// (dist/index.js, from tsc) stays unbundled. Kept external: better-sqlite3 and sharp (native addons; sharp runs only in the transform stage's worker processes, dist/transform/worker.js), and
// log-update, loaded only when a progress line is drawn; bullmq and ioredis, loaded only by the queue
// commands (enqueue, worker, status --queue): a single-machine run never reads them.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/imgpull.js',
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
