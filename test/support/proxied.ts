import { pull } from '../../src/index.js'
import type { Options } from '../../src/options.js'
import type { Result } from '../../src/types.js'

/**
 * For the proxy tests: a run's results in URL order (no journal, one retry, names by index), and
 * a way to run with chosen environment variables and none of the proxy ones the machine may have.
 */
export async function runSorted(urls: string[], options: Options): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of pull(urls, { journal: false, retries: 1, name: '{index}{ext}', ...options }))
    results.push(r)
  return results.sort((a, b) => a.job.url.localeCompare(b.job.url))
}

/** Run `fn` with these environment variables, the machine's proxy variables removed; restored after. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = process.env
  const clean = Object.fromEntries(Object.entries(saved).filter(([k]) => !/^(https?|all|no)_proxy$/i.test(k)))
  process.env = { ...clean, ...vars }
  try {
    return await fn()
  } finally {
    process.env = saved
  }
}
