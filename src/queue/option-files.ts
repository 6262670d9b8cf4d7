import { resolve } from 'node:path'
import type { Options } from '../options.js'

/**
 * The run options that name a file, with the flag that gives each: a queue's job carries the path,
 * and every worker reads the file at that path on its own machine (as it does a list's rows).
 */
export const OPTION_FILES = {
  cookies: '--cookies',
  netrc: '--netrc-file',
  caCert: '--ca-cert',
  clientCert: '--cert',
  clientKey: '--key',
} as const

type FileOption = keyof typeof OPTION_FILES

/**
 * `options` with every file option's path made absolute against `cwd` (the enqueuing process's):
 * a relative path would be read from each worker's own working folder, another file or none.
 * `netrc: true` (the user's own ~/.netrc) stays as it is. Pure.
 */
export function withAbsoluteFiles<T extends Partial<Pick<Options, FileOption>>>(options: T, cwd: string): T {
  const out: T = { ...options }
  for (const key of Object.keys(OPTION_FILES) as FileOption[]) {
    const value = options[key]
    if (typeof value === 'string') (out as Record<string, unknown>)[key] = resolve(cwd, value)
    else if (Array.isArray(value))
      (out as Record<string, unknown>)[key] = value.map((v: string) => resolve(cwd, v))
  }
  return out
}

/** The files `options` name, each with its flag (`--cookies /srv/cookies.txt`), in `OPTION_FILES` order. Pure. */
export function optionFiles(options: Partial<Pick<Options, FileOption>>): string[] {
  const files: string[] = []
  for (const [key, flag] of Object.entries(OPTION_FILES) as [FileOption, string][]) {
    const value = options[key]
    for (const path of typeof value === 'string' ? [value] : Array.isArray(value) ? value : [])
      files.push(`${flag} ${path}`)
  }
  return files
}
