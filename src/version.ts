import { createRequire } from 'node:module'

/**
 * The package's own package.json: one folder up from dist/ (the library, and the CLI's bundle,
 * dist/imgpull.cjs).
 */
function ownPackage(): { version: string; homepage: string } {
  try {
    const pkg = createRequire(import.meta.url)('../package.json') as {
      name?: string
      version: string
      homepage: string
    }
    if (pkg.name === 'imgpull') return pkg
  } catch {}
  throw new Error(
    `imgpull's package.json is not where it belongs (next to dist/), seen from ${import.meta.url}`,
  )
}

const pkg = ownPackage()

export const VERSION: string = pkg.version
export const HOMEPAGE: string = pkg.homepage
