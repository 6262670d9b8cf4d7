/**
 * The host's preloads kept out of imgpull's own threads and processes. A Node started with
 * `NODE_OPTIONS='--require agent.js'` (an APM agent, a loader a service is run with) runs it again in
 * every worker thread and child process that inherits the environment: a transfer thread, the
 * hashing thread and each image worker ran it too, each start as slow as the preload (3 s a slow
 * one: every run 3 s longer), and one that throws there failed them all (six files `hash-failed`,
 * the image workers "exit before they are ready" with no cause). The main thread ran it already.
 * Every other option stays: `--tls-min-v1.0` or `--tls-cipher-list` (which imgpull's TLS messages
 * suggest) must reach the threads that make requests.
 */

/** Node options that load code before the program: `--require x`, `-r x`, `--import=x`, loaders. */
const PRELOAD = /^(--require|-r|--import|--loader|--experimental-loader)(=|$)/

/**
 * `NODE_OPTIONS` split as Node splits it (node_options.cc, `ParseNodeOptionsEnvVar`): at spaces,
 * but inside double quotes, where a backslash escapes the next character.
 */
export function splitNodeOptions(value: string): string[] {
  const words: string[] = []
  let word = ''
  let started = false
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quoted && c === '\\' && i + 1 < value.length) {
      word += value[++i]
    } else if (c === '"') {
      quoted = !quoted
      started = true
    } else if (c === ' ' && !quoted) {
      if (started) words.push(word)
      word = ''
      started = false
    } else {
      word += c
      started = true
    }
  }
  if (started) words.push(word)
  return words
}

/** One word as `NODE_OPTIONS` reads it back: quoted when it holds a space, a quote or a backslash. */
const quotedWord = (word: string) =>
  word !== '' && !/[ "\\]/.test(word) ? word : `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`

/** `NODE_OPTIONS` without its preloads (see `PRELOAD`), every other option as it was. */
export function withoutPreloads(value: string): string {
  const words = splitNodeOptions(value)
  const kept: string[] = []
  for (let i = 0; i < words.length; i++) {
    const match = PRELOAD.exec(words[i])
    if (!match) kept.push(words[i])
    else if (match[2] === '') i++ // its value is the next word
  }
  return kept.map(quotedWord).join(' ')
}

/**
 * The environment for one of imgpull's own threads or processes: `env` (this process's by default)
 * with `NODE_OPTIONS`' preloads taken out (see above), or without `NODE_OPTIONS` when nothing else
 * is left of it. A new object; `env` is not changed.
 */
export function ownEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env }
  if (copy.NODE_OPTIONS === undefined) return copy
  const options = withoutPreloads(copy.NODE_OPTIONS)
  if (options === '') delete copy.NODE_OPTIONS
  else copy.NODE_OPTIONS = options
  return copy
}
