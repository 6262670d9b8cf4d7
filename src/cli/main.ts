#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8'

// undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with its baseline
// compiler, then recompiles hot functions optimised in the background, and a process cannot exit
// until that is done: ~100 ms added to every short run, and CPU taken from transfers in long
// ones. The baseline code is fast enough for headers (measured: no loss on 5,000 small images,
// less CPU overall). The imports below still load before this line runs, but undici compiles
// llhttp only on its first connection, which comes later. The library leaves V8 alone.
setFlagsFromString('--liftoff-only')

import { Command, CommanderError, Option } from 'commander'
import { FolderBusyError, UsageError } from '../errors.js'
import { DEFAULT_USER_AGENT, defaults } from '../options.js'
import { VERSION } from '../version.js'
import { benchCommand } from './bench-command.js'
import { header, integer, perHost, seconds, size } from './parse.js'
import { EXIT, handleEarlySignals, pullCommand } from './pull-command.js'
import { statusCommand } from './status-command.js'
import { addUnsplashCommand } from './unsplash-command.js'

const s = (ms: number) => String(ms / 1000)

/** Options every pulling command shares (URL lists, and sources added later). */
export function addPullOptions(command: Command): Command {
  return command
    .option('-o, --out <dir>', 'output folder', defaults.out)
    .option('-c, --concurrency <n>', 'transfers at once, over all hosts', integer(1), defaults.concurrency)
    .option(
      '--per-host <n|auto>',
      'transfers at once per host; auto: start at 16, grow to 128 while the host answers fast and clean',
      perHost,
      defaults.perHost,
    )
    .option(
      '-n, --name <template>',
      'file name template: {name} {ext} {host} {path} {index} {hash}',
      defaults.name,
    )
    .option(
      '--retries <n>',
      'retries after a network error, timeout, 408/425/429/5xx',
      integer(0),
      defaults.retries,
    )
    .option('--retry-failed', 'retry jobs that failed in an earlier run (skipped by default)', false)
    .option(
      '--max-retry-after <s>',
      'longest Retry-After honoured, in seconds',
      seconds,
      defaults.maxRetryAfter,
    )
    .option('--connect-timeout <s>', 'connect timeout, in seconds', seconds, defaults.connectTimeout)
    .option('--headers-timeout <s>', 'time to response headers, in seconds', seconds, defaults.headersTimeout)
    .option('--idle-timeout <s>', 'longest gap between body bytes, in seconds', seconds, defaults.idleTimeout)
    .option(
      '--total-timeout <s>',
      'longest time for one file, retries included, in seconds',
      seconds,
      defaults.totalTimeout,
    )
    .option('--max-size <size>', 'largest file accepted (e.g. 500MB, 2GiB)', size, defaults.maxSize)
    .option('--max-redirects <n>', 'redirects followed per file', integer(0), defaults.maxRedirects)
    .addOption(
      new Option('--hash <algo>', 'checksum kept per file')
        .choices(['sha256', 'none'])
        .default(defaults.hash),
    )
    .option('-A, --user-agent <ua>', 'User-Agent header', DEFAULT_USER_AGENT)
    .option('-H, --header <header>', "extra request header 'Name: value' (repeatable)", header, {})
    .option('--no-http2', 'do not use HTTP/2, even where the server offers it')
    .option('--no-journal', 'keep no journal (a rerun starts over)')
    .option('--json', 'one JSON line per result on stdout, the summary last')
    .option('-q, --quiet', 'print errors only')
    .option(
      '--grace <s>',
      'seconds transfers get to finish after the first Ctrl-C',
      (v) => seconds(v) / 1000,
      10,
    )
}

// Defaults shown in --help are in the units the options take.
const SHOWN_DEFAULTS: Record<string, string> = {
  maxRetryAfter: s(defaults.maxRetryAfter),
  connectTimeout: s(defaults.connectTimeout),
  headersTimeout: s(defaults.headersTimeout),
  idleTimeout: s(defaults.idleTimeout),
  totalTimeout: s(defaults.totalTimeout),
  maxSize: '512MiB',
}

export function pullOptionsFrom(o: Record<string, unknown>) {
  return {
    options: {
      out: o.out as string,
      concurrency: o.concurrency as number,
      perHost: o.perHost as number | 'auto',
      name: o.name as string,
      retries: o.retries as number,
      retryFailed: o.retryFailed as boolean,
      maxRetryAfter: o.maxRetryAfter as number,
      connectTimeout: o.connectTimeout as number,
      headersTimeout: o.headersTimeout as number,
      idleTimeout: o.idleTimeout as number,
      totalTimeout: o.totalTimeout as number,
      maxSize: o.maxSize as number,
      maxRedirects: o.maxRedirects as number,
      hash: o.hash as 'sha256' | 'none',
      userAgent: o.userAgent as string,
      headers: o.header as Record<string, string>,
      http2: o.http2 as boolean,
      journal: o.journal as boolean,
    },
    flags: {
      json: o.json as boolean | undefined,
      quiet: o.quiet as boolean | undefined,
      grace: o.grace as number,
    },
  }
}

function showDefaults(command: Command) {
  for (const option of command.options) {
    const shown = SHOWN_DEFAULTS[option.attributeName()]
    if (shown !== undefined) option.defaultValueDescription = shown
  }
}

export function buildProgram(): Command {
  const program = new Command('imgpull')
    .description('Pull images from the web in bulk: concurrent, verified, atomic, resumable.')
    .version(VERSION)
    .argument('[inputs...]', 'image URLs, files with one URL per line, or - for stdin')
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      `
Examples:
  imgpull https://images.unsplash.com/photo-1516117172878-fd2c41f4a759 -o photos
  imgpull urls.txt -o photos
  cat urls.txt | imgpull - -o photos --json
  imgpull status photos
  imgpull unsplash search "mountain lake" --limit 200 -o lakes

Exit codes: 0 all done, 1 some failed, 2 usage error, 3 stopped by a fatal error (disk full...), 75 Unsplash rate limit reached with --on-rate-limit stop, 130 interrupted.`,
    )
  addPullOptions(program)
  showDefaults(program)
  program.action(async (inputs: string[], o: Record<string, unknown>) => {
    const { options, flags } = pullOptionsFrom(o)
    process.exitCode = await pullCommand(inputs, options, flags)
  })
  program
    .command('status')
    .description('show what the journal of an output folder knows: counts by status, commonest errors')
    .argument('<dir>', 'output folder of an earlier run')
    .action((dir: string) => statusCommand(dir))
  addUnsplashCommand(program, { addPullOptions, pullOptionsFrom })
  benchCommand(program)
  return program
}

export async function main(argv = process.argv): Promise<number> {
  handleEarlySignals()
  const program = buildProgram()
  program.exitOverride()
  program.configureOutput({ writeErr: () => {} })
  for (const sub of program.commands) {
    sub.exitOverride()
    sub.configureOutput({ writeErr: () => {} })
  }
  try {
    await program.parseAsync(argv)
    return Number(process.exitCode ?? EXIT.ok)
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok // --help, --version
      process.stderr.write(`imgpull: ${error.message.replace(/^error: /, '')} (see imgpull --help)\n`)
      return EXIT.usage
    }
    if (error instanceof FolderBusyError) {
      process.stderr.write(`imgpull: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof UsageError || error instanceof TypeError) {
      process.stderr.write(`imgpull: ${error.message} (see imgpull --help)\n`)
      return EXIT.usage
    }
    process.stderr.write(`imgpull: ${(error as Error).message ?? error}\n`)
    return EXIT.failed
  }
}

const code = await main()
// Let stdout drain before leaving: a pipe reader must get every line.
process.stdout.write('', () => process.exit(code))
