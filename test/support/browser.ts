import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/**
 * Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it), driven by
 * playwright-core. Never a downloaded browser: `npx playwright install` is not used anywhere.
 * `IMGPULL_CHROMIUM` points elsewhere when needed.
 */
export const CHROMIUM = process.env.IMGPULL_CHROMIUM ?? '/usr/bin/chromium'

/** Quiet and offline: no background fetches, no component updates, no QUIC probing. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

export interface Browser {
  context: BrowserContext
  /** A new tab with the given viewport (CSS pixels). */
  open(viewport?: { width: number; height: number }): Promise<Page>
  /** Close the browser and remove its profile. */
  close(): Promise<void>
}

/** Start headless Chromium with a fresh, throwaway profile. One per test file: a launch costs ~1 s. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set IMGPULL_CHROMIUM`,
    )
  }
  const profile = await mkdtemp(join(tmpdir(), 'imgpull-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  })
  return {
    context,
    async open(viewport = { width: 1280, height: 900 }) {
      const page = await context.newPage()
      await page.setViewportSize(viewport)
      return page
    },
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/** What a page did that a test may want to forbid: console errors, uncaught exceptions, requests. */
export interface PageLog {
  errors: string[]
  requests: string[]
}

/** Start recording console errors, page errors and every request the page makes. */
export function watch(page: Page): PageLog {
  const log: PageLog = { errors: [], requests: [] }
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      log.errors.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => log.errors.push(`pageerror: ${error.message}`))
  page.on('request', (request) => log.requests.push(request.url()))
  return log
}
