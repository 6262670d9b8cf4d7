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
  } catch (error) {
    // Not misplaced: unreadable for want of file descriptors (a transfer thread started under
    // `ulimit -n 64`), which the thread's starter says as the limit (see `threadFault`).
    const { code, message } = error as { code?: string; message?: string }
    if (/^E[MN]FILE$/.test(code ?? '') || /\bE[MN]FILE\b|too many open files/i.test(message ?? ''))
      throw error
  }
  throw new Error(
    `imgpull's package.json is not where it belongs (next to dist/), seen from ${import.meta.url}`,
  )
}

const pkg = ownPackage()

export const VERSION: string = pkg.version
export const HOMEPAGE: string = pkg.homepage
