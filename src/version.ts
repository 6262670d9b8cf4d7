import { createRequire } from 'node:module'

/**
 * The package's own package.json: one folder up from dist/ (the library, and the CLI's entry),
 * two from the CLI's chunks (dist/chunks/).
 */
function ownPackage(): { version: string; homepage: string } {
  const require = createRequire(import.meta.url)
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version: string; homepage: string }
      if (pkg.name === 'imgpull') return pkg
    } catch {}
  }
  throw new Error(
    `imgpull's package.json is not where it belongs (next to dist/), seen from ${import.meta.url}`,
  )
}

const pkg = ownPackage()

export const VERSION: string = pkg.version
export const HOMEPAGE: string = pkg.homepage
