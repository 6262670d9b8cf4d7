import { type Command, Option } from 'commander'
import { errorCode, UsageError } from '../errors.js'
import { AUTO_THREADS_AFTER, AUTO_THREADS_MAX } from '../fetch/auto-threads.js'
import { OVERLONG_FILES } from '../fetch/given-up.js'
import {
  DEFAULT_USER_AGENT,
  defaults,
  MAX_THREADS,
  type OptionMisfit,
  type Options,
  optionMisfit,
} from '../options.js'
import { commandLine, visibleShellWord } from '../utils/command-line.js'
import { fileFault, nearFileSync } from '../utils/near-file.js'
import { readOptionFileSync } from '../utils/option-file.js'
import { tildeHint } from '../utils/tilde.js'
import { redactUrl } from '../utils/url.js'
import {
  autoOrInteger,
  folder,
  header,
  integer,
  perHost,
  seconds,
  secondsOrZero,
  size,
  waitSeconds,
} from './parse.js'
import type { OutputFlags } from './pull-command.js'

const s = (ms: number) => String(ms / 1000)

/** Option values noting that `--proxy` (its URL) and `--no-proxy` were given (see `proxyOf`). */
const PROXY_GIVEN = 'proxyGiven'
const NO_PROXY_GIVEN = 'noProxyGiven'

/** Options every pulling command shares (URL lists, and sources added later). */
export function addPullOptions(command: Command): Command {
  command
    .option('-o, --out <dir>', 'output folder', folder, defaults.out)
    .option('-c, --concurrency <n>', 'transfers at once, over all hosts', integer(1), defaults.concurrency)
    .option(
      '--per-host <n|auto>',
      'transfers at once per host; auto: start at 16, grow to 128 while the host answers fast and clean',
      perHost,
      defaults.perHost,
    )
    .option(
      '--wait <s>',
      "least time between two requests to one host, from when the last was sent, in seconds, or a range each wait is drawn from ('2-4'); shared by --threads and a queue's workers",
      waitSeconds,
      defaults.wait,
    )
    .option(
      '-n, --name <template>',
      `file name template: {name} {ext} {host} {path} {index} {hash}; tables: {row} and their columns ({caption}...) (default: "${defaults.name}")`,
    )
    .option(
      '--retries <n>',
      'retries after a network error, timeout, 202/408/425/429/500/502/503/504/520-524, a body cut short',
      integer(0),
      defaults.retries,
    )
    .option(
      '--retry-failed',
      "also retry jobs that failed for good in an earlier run (a rerun retries passing failures); a sharing site's page in place of an image comes again as it is: put the link its message names in the list",
    )
    .option(
      '--max-retry-after <s>',
      `longest Retry-After honoured (a server's, or an HTTP proxy's to CONNECT, which every file through the proxy waits), in seconds (a file asked again for a wait longer than this and --total-timeout fails; a host that asks it again, of ${OVERLONG_FILES} files in a row, is given up for the run); 0: ignore Retry-After`,
      secondsOrZero,
      defaults.maxRetryAfter,
    )
    .option(
      '--connect-timeout <s>',
      "time to open a connection (name lookup, TCP and TLS handshakes, a proxy's answer to CONNECT), in seconds",
      seconds,
      defaults.connectTimeout,
    )
    .option('--headers-timeout <s>', 'time to response headers, in seconds', seconds, defaults.headersTimeout)
    .option('--idle-timeout <s>', 'longest gap between body bytes, in seconds', seconds, defaults.idleTimeout)
    .option(
      '--total-timeout <s>',
      "longest time for one file, retries included, in seconds (a body whose pace then ends it within as long again gets that time once; one that gave way to its host's others on a slow shared link starts it again, once)",
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
    .option(
      '-H, --header <header>',
      "extra request header 'Name: value' (repeatable; 'Name:' leaves it out)",
      header,
    )
    .option('--no-http2', 'do not use HTTP/2, even where the server offers it')
    .option(
      '--threads <n|auto>',
      `transfer threads beside the main thread (requests, bodies, checks, hashes); auto: one a core beyond the first, at most ${AUTO_THREADS_MAX}, started once ${AUTO_THREADS_AFTER} transfers have begun; 0: all on the main thread`,
      autoOrInteger(0, MAX_THREADS),
      'auto',
    )
    .option('--no-journal', 'keep no journal (a rerun starts over)')
    .option('--no-report', 'do not write OUT/report.html')
    .option('--ignore-robots-tag', 'download images whose X-Robots-Tag says noai or noimageai')
    .option(
      '--ca-cert <file>',
      "also trust the CA certificates of this PEM file, DER certificate or PKCS #7 bundle (.p7b) (a private CA); give it again for another file (a proxy's CA and a server's)",
      (file: string, files: string[] = []) => [...files, file],
    )
    .option(
      '--cert <file>',
      'client certificate to show image hosts that ask for one (mutual TLS): a PEM file, the key after the certificate or in --key; or a PKCS #12 .p12/.pfx',
    )
    .option('--key <file>', "the private key of --cert's certificate (PEM or DER), when in a file of its own")
    .option(
      '--cert-password-file <file>',
      `read the password of --cert's encrypted key or PKCS #12 file from this file, or set ${CERT_PASSWORD_VARIABLE}: it is not taken on the command line, where every user of the machine can read it (ps, /proc) and the shell's history keeps it`,
    )
    .option('--insecure', 'skip TLS certificate checks (unsafe: anyone on the path can change the files)')
    .option(
      '--proxy <url>',
      'send every request through this proxy, but to the hosts NO_PROXY lists: http://, https://, socks5:// or socks5h:// (default: HTTP_PROXY/HTTPS_PROXY/ALL_PROXY)',
    )
    .option('--no-proxy', 'use no proxy, whatever HTTP_PROXY/HTTPS_PROXY/ALL_PROXY say')
    // Both --proxy URL and --no-proxy: commander keeps the last one, silently; each one given is
    // noted (see `proxyOf`).
    .on('option:proxy', (url: string) => command.setOptionValueWithSource(PROXY_GIVEN, url, 'cli'))
    .on('option:no-proxy', () => command.setOptionValueWithSource(NO_PROXY_GIVEN, true, 'cli'))
    .option(
      '--cookies <file>',
      'send the cookies of this Netscape cookies.txt where their domain and path allow',
    )
    .option(
      '--netrc',
      "take a URL's user and password, when it names none, from $NETRC or ~/.netrc, as curl -n does (not read unless asked)",
    )
    .option(
      '--netrc-file <file>',
      "take a URL's user and password, when it names none, from this .netrc file",
    )
    .addOption(
      new Option(
        '--output-format <format>',
        'files: each image under its own name; webdataset: tar shards, each with a .parquet and a _stats.json',
      )
        .choices(['files', 'webdataset'])
        .default(defaults.outputFormat),
    )
    // No default here: given without --output-format webdataset, it is refused, not dropped.
    .option(
      '--shard-size <n>',
      `samples per WebDataset shard, at most 1,000,000 (default: ${defaults.shardSize})`,
      integer(1),
    )
    .option('--json', 'one JSON line per result on stdout, the summary last')
    .option('-q, --quiet', 'print errors only')
    .option(
      '--grace <s>',
      'seconds transfers get to finish after the first Ctrl-C or SIGTERM',
      (v) => seconds(v) / 1000,
      10,
    )
  showDefaults(command)
  return command
}

// Defaults shown in --help are in the units the options take.
const SHOWN_DEFAULTS: Record<string, string> = {
  maxRetryAfter: s(defaults.maxRetryAfter),
  wait: '0',
  connectTimeout: s(defaults.connectTimeout),
  headersTimeout: s(defaults.headersTimeout),
  idleTimeout: s(defaults.idleTimeout),
  totalTimeout: s(defaults.totalTimeout),
  maxSize: '512MiB',
}

/** The engine's options and the output flags from parsed command-line options. */
export function pullOptionsFrom(o: Record<string, unknown>): { options: Options; flags: OutputFlags } {
  checkMisfits(o)
  return {
    options: {
      out: o.out as string,
      concurrency: o.concurrency as number,
      perHost: o.perHost as number | 'auto',
      wait: o.wait as Options['wait'],
      name: (o.name as string | undefined) ?? defaults.name,
      retries: o.retries as number,
      retryFailed: o.retryFailed === true,
      maxRetryAfter: o.maxRetryAfter as number,
      connectTimeout: o.connectTimeout as number,
      headersTimeout: o.headersTimeout as number,
      idleTimeout: o.idleTimeout as number,
      totalTimeout: o.totalTimeout as number,
      maxSize: o.maxSize as number,
      maxRedirects: o.maxRedirects as number,
      hash: o.hash as 'sha256' | 'none',
      userAgent: o.userAgent as string,
      headers: (o.header as Record<string, string> | undefined) ?? {},
      http2: o.http2 as boolean,
      journal: o.journal as boolean,
      threads: o.threads as number | 'auto',
      report: o.report as boolean,
      command: commandLine(),
      // Messages name the flag that tries permanent failures again, not the library's option.
      rerun: { rerun: 'a rerun', retryFailed: '--retry-failed' },
      ignoreRobotsTag: o.ignoreRobotsTag === true,
      // One file as a string, as before: a queue enqueued with one compares equal.
      caCert: caCertOf(o),
      clientCert: o.cert as string | undefined,
      clientKey: o.key as string | undefined,
      clientCertPassword: certPasswordOf(o),
      insecure: insecureOf(o),
      // Neither flag: undefined, the environment's proxies.
      proxy: proxyOf(o),
      cookies: o.cookies as string | undefined,
      // --netrc-file names the file --netrc looks for (as in curl); neither: none read.
      netrc: (o.netrcFile as string | undefined) ?? (o.netrc === true ? true : undefined),
      outputFormat: o.outputFormat as Options['outputFormat'],
      shardSize: (o.shardSize as number | undefined) ?? defaults.shardSize,
    },
    flags: {
      json: o.json as boolean | undefined,
      quiet: o.quiet as boolean | undefined,
      grace: o.grace as number,
    },
  }
}

/** Defaults in --help in the units the options take (seconds, sizes), not the library's. */
export function showDefaults(command: Command) {
  for (const option of command.options) {
    const shown = SHOWN_DEFAULTS[option.attributeName()]
    if (shown !== undefined) option.defaultValueDescription = shown
  }
}

/** Each misfit's words on the command line (see `optionMisfit`). */
const MISFIT_WORDS: Record<OptionMisfit['option'], string> = {
  name: '--name names the files of --output-format files: WebDataset samples are named by their keys; leave --name out',
  shardSize: '--shard-size is for --output-format webdataset: add it, or leave --shard-size out',
  retryFailed:
    '--retry-failed tries again the failures the journal remembers: with --no-journal none are remembered and every job is tried; leave one of them out',
}

/** Flags given where they do nothing (`--shard-size` for files...): a usage error, the library's rule. */
function checkMisfits(o: Record<string, unknown>): void {
  const misfit = optionMisfit({
    retryFailed: o.retryFailed === true,
    journal: o.journal as boolean,
    name: o.name as string | undefined,
    shardSize: o.shardSize as number | undefined,
    outputFormat: o.outputFormat as Options['outputFormat'],
  })
  if (misfit) throw new UsageError(MISFIT_WORDS[misfit.option])
}

/**
 * `--proxy URL`, `--no-proxy` (false) or neither. Both given: a usage error, for one of them is
 * surely not meant (a `--no-proxy` left in a script, or a `--proxy` added to one).
 */
function proxyOf(o: Record<string, unknown>): string | false | undefined {
  if (typeof o[PROXY_GIVEN] === 'string' && o[NO_PROXY_GIVEN] === true)
    throw new UsageError(
      `--proxy ${redactUrl(o[PROXY_GIVEN])} and --no-proxy say opposite things: give one of them`,
    )
  return o.proxy as string | false | undefined
}

/**
 * `--insecure` checks no certificate: with `--ca-cert`, whose CA would then never be used, a usage
 * error (a private CA's file given for a reason, or an --insecure left over from a test).
 */
function insecureOf(o: Record<string, unknown>): boolean {
  if (o.insecure === true && o.caCert !== undefined)
    throw new UsageError(
      `--insecure checks no certificate, so the CA of --ca-cert ${(o.caCert as string[]).join(', ')} would never be used: leave one of them out (--ca-cert alone keeps the checks)`,
    )
  return o.insecure === true
}

/**
 * The files of `--ca-cert`, each given once (commander kept the last one alone: an https:// proxy's
 * CA given before a server's was dropped without a word); one as a string.
 */
function caCertOf(o: Record<string, unknown>): string | string[] | undefined {
  const files = o.caCert as string[] | undefined
  return files && files.length === 1 ? files[0] : files
}

/** The environment variable that holds `--cert`'s password, where no `--cert-password-file` is given. */
export const CERT_PASSWORD_VARIABLE = 'IMGPULL_CERT_PASSWORD'

/** Library fields of the client certificate, as the command line gives them. */
const CERT_FLAGS: Record<string, string> = {
  clientCert: '--cert',
  clientKey: '--key',
  clientCertPassword: `--cert-password-file FILE or ${CERT_PASSWORD_VARIABLE}`,
}

/**
 * A library message about the client certificate (`clientCert`, `clientKey`,
 * `clientCertPassword`) in the command line's words; a password that does not open the file is
 * named by where it came from (`passwordFile`, else the variable: see `certPasswordOf`), not both
 * ways.
 */
export function certFlagWords(message: string, passwordFile: string | undefined): string {
  const source = passwordFile === undefined ? CERT_PASSWORD_VARIABLE : `--cert-password-file ${passwordFile}`
  return message
    .replace(
      /\b(the|a) password given as `clientCertPassword`/g,
      (_, article: string) => `${article} password in ${source}`,
    )
    .replace(/`(clientCert|clientKey|clientCertPassword)`/g, (_, field: string) => CERT_FLAGS[field])
}

/**
 * The password of `--cert`'s key or PKCS #12 file: `--cert-password-file`'s (its text, less one
 * line break at its end: `echo secret > file` writes one), else `IMGPULL_CERT_PASSWORD`'s, taken
 * only with `--cert` (a variable set for every command means nothing to one without it).
 */
export function certPasswordOf(o: Record<string, unknown>): string | undefined {
  const file = o.certPasswordFile as string | undefined
  if (file === undefined) return o.cert === undefined ? undefined : process.env[CERT_PASSWORD_VARIABLE]
  let text: string
  try {
    text = readOptionFileSync(file).toString('utf8')
  } catch (error) {
    throw new UsageError(
      `--cert-password-file ${visibleShellWord(file)}: ${fileFault(error)}${tildeHint(file, errorCode(error))}${errorCode(error) === 'ENOENT' ? nearFileSync(file) : ''}`,
    )
  }
  return text.replace(/\r?\n$/, '')
}
