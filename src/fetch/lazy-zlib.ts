import { createRequire } from 'node:module'

// Required, not imported: the CLI bundle would hoist an import of these to its start, loading
// zlib in every run (~1.5 ms). zlib is required with the first encoded body (a built-in: no file
// to open then); this module itself loads with the transfers', before any starts, as a module
// loaded mid-run can fail for want of a file descriptor (see `unloadableCode`).
const load = createRequire(import.meta.url)
let zlibModule: typeof import('node:zlib') | undefined
export const zlib = (): typeof import('node:zlib') =>
  (zlibModule ??= load('node:zlib') as typeof import('node:zlib'))
export const { Transform } = load('node:stream') as typeof import('node:stream')
