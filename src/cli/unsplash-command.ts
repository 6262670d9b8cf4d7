import { type Command, InvalidArgumentError, Option } from 'commander'
import { UsageError } from '../errors.js'
import { counted, grouped as n } from '../report/format.js'
import { DEFAULT_API_URL } from '../sources/unsplash/client.js'
import * as endpoints from '../sources/unsplash/endpoints.js'
import {
  comeBack,
  KEY_HELP,
  RateLimitError,
  StoppedError,
  UnsplashError,
} from '../sources/unsplash/errors.js'
import type { Endpoint } from '../sources/unsplash/listing.js'
import {
  COLORS,
  CONTENT_FILTERS,
  FITS,
  FORMATS,
  LIKES_ORDERS,
  ORIENTATIONS,
  resolveUnsplashOptions,
  SEARCH_ORDERS,
  TOPIC_ORDERS,
  USER_ORDERS,
} from '../sources/unsplash/options.js'
import { DEFAULT_NAME, type Imgix, type SideSize } from '../sources/unsplash/photo-job.js'
import { HOUR } from '../sources/unsplash/rate-limit.js'
import { UnsplashSource, type UnsplashSummary } from '../sources/unsplash/source.js'
import { SIZES, type Size } from '../sources/unsplash/types.js'
import { nearWord } from '../utils/near-word.js'
import { stderrLive } from './color.js'
import { flagWords } from './flag-words.js'
import { decimal, integer, seconds } from './parse.js'
import { EXIT, progressShown, runPull } from './pull-command.js'
import { addPullOptions, pullOptionsFrom } from './pull-options.js'
import { STOP_SIGNALS } from './stop-words.js'
import { addTransformOptions, transformFrom } from './transform-options.js'

/** Exit code when the rate limit stopped the run (`--on-rate-limit stop`): run again after the reset. */
export const EXIT_RATE_LIMITED = 75

/** The subcommands, as `imgpull unsplash nonsense` lists them. */
const COMMANDS = ['search', 'collection', 'user', 'likes', 'topic', 'random', 'photo']

/** `--limit N` or `--limit all`. */
function limit(value: string): number {
  if (value.trim().toLowerCase() === 'all') return Number.POSITIVE_INFINITY
  // The message names both forms: `--limit 0` is refused, `--limit all` is not.
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError("expected an integer >= 1, or 'all'")
  return integer(1)(value)
}

/** The side a resize mode sets: its size is what imgix is asked for on that side (see `SideSize`). */
const SIDE_OF = {
  'keep-ratio': 'shortest',
  'center-crop': 'shortest',
  'keep-ratio-largest': 'longest',
  border: 'longest',
} as const

/** `--size regular` (a ready-made size) or `--size 256` (pixels, the target of `--resize`). */
function sizeOrPixels(value: string): Size | number {
  if ((SIZES as readonly string[]).includes(value)) return value as Size
  if (/^\d+$/.test(value.trim())) return integer(1, 65_535)(value)
  throw new InvalidArgumentError(`expected one of ${SIZES.join(', ')}, or pixels for --resize`)
}

function between(min: number, max: number) {
  return (value: string): number => {
    const n = decimal(value)
    if (n === undefined || n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}`)
    return n
  }
}

const orientation = () =>
  new Option('--orientation <o>', 'only landscape, portrait or squarish photos').choices([...ORIENTATIONS])
const orderBy = (choices: readonly string[]) =>
  new Option('--order-by <order>', 'sort order').choices([...choices])
const contentFilter = () =>
  new Option('--content-filter <level>', "the API's safety filter (default low)").choices([
    ...CONTENT_FILTERS,
  ])

/** Options every Unsplash subcommand takes, besides the download options. */
function addUnsplashOptions(command: Command): Command {
  command
    .option(
      '--size <size|px>',
      `which ready-made size to fetch (${SIZES.join(', ')}; default: regular), or pixels: the target of --resize, fetched at that size from Unsplash's CDN`,
      sizeOrPixels,
    )
    .option('--width <px>', 'width, as an imgix parameter on the raw image', integer(1))
    .option('--height <px>', 'height, as an imgix parameter on the raw image', integer(1))
    .option(
      '--quality <q>',
      'quality 1-100: of the images --resize or --encode write, else imgix',
      between(1, 100),
    )
    .addOption(new Option('--format <fmt>', 'file format (imgix)').choices([...FORMATS]))
    .addOption(new Option('--fit <fit>', 'how --width/--height fit (imgix)').choices([...FITS]))
    .option('--dpr <n>', 'device pixel ratio 1-8 (imgix)', between(1, 8))
    .option('--access-key <key>', 'API access key (better: the UNSPLASH_ACCESS_KEY environment variable)')
    .option('--api-url <url>', `API address, or UNSPLASH_API_URL (default: ${DEFAULT_API_URL})`)
    .addOption(
      new Option('--on-rate-limit <what>', 'when the hourly API budget runs out: wait for the reset, or stop')
        .choices(['wait', 'stop'])
        .default('wait'),
    )
    .option('--rate-limit-window <s>', "the API's rate-limit window: how long a wait lasts", seconds, HOUR)
    .option('--refresh', 'list again instead of continuing the listing an earlier run stored')
  addPullOptions(command)
  // Resizing and re-encoding as for any source; --size and --quality are the ones above.
  addTransformOptions(command, ['--size', '--quality'])
  // The download options' name template gets this source's default and placeholders.
  const name = command.options.find((opt) => opt.long === '--name')
  if (name) {
    name.defaultValue = DEFAULT_NAME
    name.description = `file name template: {id} {slug} {user} {stem} {ext} {index} {hash} ({id}{ext} when a photo has no description)`
  }
  for (const opt of command.options) {
    if (opt.attributeName() === 'rateLimitWindow') opt.defaultValueDescription = String(HOUR / 1000)
  }
  return command
}

/** The imgix options given, refusing a ready-made `--size` beside them (the library would too, in its words). */
function imgixFrom(o: Record<string, unknown>, sizeGiven: boolean): Imgix | undefined {
  const imgix: Imgix = {
    w: o.width as number | undefined,
    h: o.height as number | undefined,
    q: o.quality as number | undefined,
    fm: o.format as string | undefined,
    fit: o.fit as string | undefined,
    dpr: o.dpr as number | undefined,
  }
  if (Object.values(imgix).every((v) => v === undefined)) return undefined
  const size = o.size as Size | undefined
  if (sizeGiven && size !== 'raw') {
    throw new UsageError(`--size ${size} cannot be combined with imgix options: those apply to the raw image`)
  }
  return imgix
}

/**
 * The subcommand's options, with those given to an ancestor: the program has the download
 * options too, and commander gives `imgpull unsplash search x -o dir`'s `-o` to the program.
 */
function optionsOf(cmd: Command): { o: Record<string, unknown>; given: (name: string) => boolean } {
  const o: Record<string, unknown> = { ...cmd.opts() }
  const isGiven = (c: Command, name: string) => {
    const source = c.getOptionValueSource(name)
    return source !== undefined && source !== 'default' && source !== 'implied'
  }
  const given = new Set(Object.keys(o).filter((name) => isGiven(cmd, name)))
  for (let parent = cmd.parent; parent; parent = parent.parent) {
    for (const [name, value] of Object.entries(parent.opts())) {
      if (!given.has(name) && isGiven(parent, name)) {
        o[name] = value
        given.add(name)
      }
    }
  }
  return { o, given: (name) => given.has(name) }
}

/** What the run's end says, and its exit code, from the source's summary and the download's code. */
export function conclude(
  s: UnsplashSummary,
  code: number,
): { errors: string[]; lines: string[]; code: number } {
  const errors: string[] = []
  const lines: string[] = []
  if (s.empty) return { errors, lines, code }
  for (const id of s.missing) errors.push(`no such Unsplash photo ${id}`)
  if (s.missing.length && code === EXIT.ok) code = EXIT.failed
  const ended = s.listingEnded
  if (ended && !(ended instanceof RateLimitError)) {
    // A key revoked or a collection removed mid-run fails the same way on a rerun: it is the
    // caller's to mend (exit 2), where the API failing passes (exit 1, run again).
    const again = ended.usage ? '' : '; run the same command again to continue'
    errors.push(`listing stopped early: ${flagWords(ended.message)}${again}`)
    if (ended.usage) code = EXIT.usage
    else if (code === EXIT.ok) code = EXIT.failed
  }
  if (s.trackingError?.usage) {
    // The key the listing was refused for refuses its tracking calls too: said once.
    if (s.trackingError.message !== ended?.message) errors.push(flagWords(s.trackingError.message))
    code = EXIT.usage
  }
  const { calls, rate } = s
  const left =
    rate.remaining === undefined
      ? ''
      : `, ${n(rate.remaining)}${rate.limit === undefined ? '' : ` of ${n(rate.limit)}`} left this hour`
  const credits = s.attribution ? `; credits for ${counted(s.credited, 'photo')} in ${s.attribution}` : ''
  lines.push(
    `Unsplash: ${counted(calls.listing + calls.tracking, 'API call')} in this run (${n(calls.listing)} listing, ${n(calls.tracking)} download tracking)${left}${credits}.`,
  )
  if (s.refused.length) {
    // Sorted: the calls end in any order, the line reads the same every time.
    const ids = s.refused.map((r) => r.photo).sort()
    const shown = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ')
    lines.push(
      `Unsplash refused to track the download of ${counted(ids.length, 'photo')} (${s.refused[0].why}): ${shown}. Unsplash+ photos need a subscription with this key; the files are kept, and these calls are not made again.`,
    )
  }
  if (s.rateLimited) {
    const listing = s.listingEnded instanceof RateLimitError ? ' listing' : ''
    const owed = s.owed ? `, ${counted(s.owed, 'download tracking call')} owed` : ''
    lines.push(`Unsplash rate limit reached: stopped${listing}${owed}. ${comeBack(limited(s))}`)
    if (code === EXIT.ok || code === EXIT.failed) code = EXIT_RATE_LIMITED
  } else if (s.owed) {
    // Why, when the API failing held them back (a stop or a rejected key is said elsewhere).
    const e = s.trackingError
    const why = e && !e.usage && !(e instanceof StoppedError) ? ` (${flagWords(e.message)})` : ''
    // Counted in words (`1 download tracking call owed … to send it`): it said `1 … calls … them`.
    lines.push(
      `${counted(s.owed, 'download tracking call')} owed${why}: run the same command again to send ${s.owed === 1 ? 'it' : 'them'}.`,
    )
  }
  return { errors, lines, code }
}

/** The rate-limit stop a run's summary records. */
function limited(s: UnsplashSummary): RateLimitError | undefined {
  for (const e of [s.listingEnded, s.trackingError]) if (e instanceof RateLimitError) return e
  return undefined
}

/** An error that ended the run before it began (bad key, unknown collection, rate limit in stop mode). */
function failure(error: unknown, fail: (line: string) => void, say: (line: string) => void): number {
  if (error instanceof StoppedError) {
    // A Ctrl-C in the first rate-limit wait or retry: the "Stopping: finishing transfers" line was
    // the last word, and the run ended without a word of what it left.
    say('Stopped before anything was listed: nothing was fetched; run the same command again to start.')
    return EXIT.interrupted
  }
  if (!(error instanceof UnsplashError)) throw error
  if (error instanceof RateLimitError) {
    // One line, as the stop after a listing began says it: the error and when to come back were
    // two, and "to continue" a run that had listed nothing.
    fail(`${error.message} before anything was listed: nothing was fetched. ${comeBack(error, 'start')}`)
    return EXIT_RATE_LIMITED
  }
  fail(flagWords(error.message))
  return error.usage ? EXIT.usage : EXIT.failed
}

/**
 * One Unsplash command: build the source from the options, run it with the engine, and say how
 * it went. The source does the listing, the download tracking and the credits.
 */
async function run(endpoint: Endpoint, cmd: Command, count?: number): Promise<void> {
  const { o, given } = optionsOf(cmd)
  const { options, flags } = pullOptionsFrom(o)
  // The source names its files unless --name says otherwise (pull() checks the template against it).
  if (!given('name')) options.name = undefined
  const fromOption = o.apiUrl as string | undefined
  const apiUrl = fromOption ?? process.env.UNSPLASH_API_URL ?? DEFAULT_API_URL
  if (!URL.canParse(apiUrl) || !/^https?:/i.test(apiUrl)) {
    // Named as it was given: the option, or the variable the user may have forgotten about.
    const where = fromOption === undefined ? 'UNSPLASH_API_URL' : '--api-url'
    throw new UsageError(`${where}: not an http(s) URL: ${JSON.stringify(apiUrl)}`)
  }
  // --size in pixels and --quality of images written anew are the transform stage's; the rest of
  // --size (a ready-made size) and --quality (imgix) are Unsplash's.
  const pixels = typeof o.size === 'number' ? o.size : undefined
  const writing = (o.resize !== undefined && o.resize !== 'no') || o.encode !== undefined
  // Pixels without a mode: a photographer asking for 1080 px photos is shown Unsplash's own ways
  // too, where the transform stage's words knew only --resize.
  if (pixels !== undefined && (o.resize === undefined || o.resize === 'no'))
    throw new UsageError(
      `--size is the target of --resize: give a --resize mode (keep-ratio: Unsplash's CDN sends each photo at that size), or a ready-made size (--size regular is 1080 px wide; raw, full, small 400, thumb 200), or --width ${pixels} (imgix)`,
    )
  const transform = transformFrom({ ...o, size: pixels, quality: writing ? o.quality : undefined })
  options.transform = transform
  const imgix = imgixFrom(
    { ...o, quality: writing ? undefined : o.quality },
    given('size') && pixels === undefined,
  )
  // A resize asked of Unsplash's CDN (imgix), unless imgix options say what to fetch: the local
  // stage then has a crop or a border at most to do, and the transfer is that much smaller.
  const mode = transform.resize
  const resizeTo: SideSize | undefined =
    pixels !== undefined && imgix === undefined && mode !== undefined && mode !== 'no'
      ? { side: SIDE_OF[mode], px: pixels }
      : undefined

  const tty = stderrLive && progressShown(flags)
  // On a terminal, clear the progress line's row first, as runPull does for failure lines.
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`)
  }
  const fail = (line: string) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}imgpull: ${line}\n`)
  // Ctrl-C also ends rate-limit waits and API calls at once; runPull stops the downloads.
  const stop = new AbortController()
  let source: UnsplashSource
  try {
    const resolved = resolveUnsplashOptions(
      {
        accessKey: o.accessKey as string | undefined,
        // Not given, the same variable is read there: messages then name it, not `apiUrl`.
        apiUrl: fromOption,
        size: pixels === undefined ? (o.size as Size | undefined) : undefined,
        imgix,
        resizeTo,
        onRateLimit: o.onRateLimit as 'wait' | 'stop',
        rateLimitWindow: o.rateLimitWindow as number,
        refresh: o.refresh === true,
        onMessage: say,
        signal: stop.signal,
      },
      process.env,
      KEY_HELP,
    )
    const extent = {
      limit: count ?? (o.limit as number),
      defaultLimit: count === undefined && !given('limit'),
    }
    source = new UnsplashSource(endpoint, extent, resolved, {
      limitHint: '--limit N or --limit all for more',
      refresh: '--refresh',
    })
  } catch (error) {
    process.exitCode = failure(error, fail, say)
    return
  }
  const onSignal = () => stop.abort()
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  let code: number
  try {
    code = await runPull(source, options, flags, { emptyExplained: true })
  } catch (error) {
    process.exitCode = failure(error, fail, say)
    return
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal)
  }
  // A Ctrl-C that came once every file had its outcome stopped no download (runPull says 0 or 1),
  // but the tracking calls it cut short are still owed: the run left work, as the guidelines count it.
  if (stop.signal.aborted && source.summary.owed > 0 && (code === EXIT.ok || code === EXIT.failed))
    code = EXIT.interrupted
  const end = conclude(source.summary, code)
  for (const line of end.errors) fail(line)
  for (const line of end.lines) say(line)
  process.exitCode = end.code
}

const limitOption = (fallback: number | 'all') =>
  new Option('-l, --limit <n>', 'most photos to fetch, or "all"')
    .argParser(limit)
    .default(fallback === 'all' ? Number.POSITIVE_INFINITY : fallback, String(fallback))

const HELP_AFTER = `
Examples:
  export UNSPLASH_ACCESS_KEY=...        # https://unsplash.com/developers
  imgpull unsplash search "mountain lake" --limit 200 --orientation landscape -o lakes
  imgpull unsplash collection 1580860 -o collection
  imgpull unsplash user anniespratt --limit 50 -o annie
  imgpull unsplash likes anniespratt --limit all -o liked
  imgpull unsplash topic nature --limit 100 -o nature
  imgpull unsplash random --count 30 --query forest -o random
  imgpull unsplash photo Dwu85P9SOIk -o one

The API is for applications, not bulk data mining or AI training: for datasets, see
https://github.com/unsplash/datasets. Exit code 75: the rate limit stopped the run (--on-rate-limit stop).`

/**
 * For an option an Unsplash command does not take (`flag` as commander names it, `=value` and
 * all): the API's parameter or another command's option it is, said with this command's way
 * (`search --count 5`: commander offered `--out`); `undefined` for others.
 */
export function unsplashOptionWords(flag: string, command: string): string | undefined {
  const name = flag.split('=')[0].replaceAll('_', '-')
  if (command === 'photo' && ['--page', '--per-page', '--count', '--limit'].includes(name))
    return 'photo fetches the photos whose ids it is given: imgpull unsplash photo ID ID'
  const limit = command === 'random' ? '--count N' : '--limit N (or all)'
  if (name === '--page' || name === '--per-page')
    return `the API's ${name.slice(2).replace('-', '_')}: imgpull pages the listing itself; ${limit} says how many photos`
  if (name === '--count' && command !== 'random') return `--count is random's; ${command} takes ${limit}`
  if (name === '--limit' && command === 'random') return 'random takes --count N, how many photos'
  if (name === '--query')
    return command === 'search'
      ? 'search takes its words as they are: imgpull unsplash search mountain lake'
      : undefined
  if (name === '--client-id')
    return "the API's client_id is the access key: UNSPLASH_ACCESS_KEY, or --access-key KEY"
  return undefined
}

/** Add `imgpull unsplash search|collection|user|likes|topic|random|photo`. */
export function addUnsplashCommand(program: Command): Command {
  const add = addUnsplashOptions
  const unsplash = program
    .command('unsplash')
    .description('download photos from Unsplash through its official API (needs a free access key)')
    .addHelpText('after', HELP_AFTER)
    // Taken here so that an unknown one is named, not refused as "too many arguments", nor as an
    // "unknown option" for the options that follow it (`unsplash serch lake --limit 5`).
    .argument('[command]')
    .allowExcessArguments()
    .allowUnknownOption()
    .usage('<command> [options]')
    .action((command: string | undefined, _o: unknown, self: Command) => {
      // `imgpull unsplash help search`, as `imgpull help unsplash search` and git take it.
      const asked = command === 'help' ? self.args[1] : undefined
      const sub = asked === undefined ? undefined : unsplash.commands.find((c) => c.name() === asked)
      if (command === 'help' && (asked === undefined || sub !== undefined)) {
        if (sub) sub.outputHelp()
        else process.stdout.write(`${unsplash.helpInformation()}${HELP_AFTER}\n`)
        return
      }
      if (command === undefined) {
        // One line, as git and commander's own `help` command leave a missing subcommand: the
        // whole help (60 lines) on stderr buried what was wrong; --help prints it on stdout.
        process.stderr.write(
          `imgpull: unsplash needs a command: ${COMMANDS.join(', ')} (see imgpull unsplash --help)\n`,
        )
      } else {
        // `help serch`: the command it asks about is the one not known.
        if (asked !== undefined) command = asked
        const meant = nearWord(command, COMMANDS)
        process.stderr.write(
          `imgpull: ${command} is not an Unsplash command; ${meant ? `did you mean ${meant}? ` : ''}the commands are ${COMMANDS.join(', ')} (see imgpull unsplash --help)\n`,
        )
      }
      process.exitCode = EXIT.usage
    })
  // Subcommands take their parent's error handling and output settings at parse time, so the
  // program's (set after this function runs) reach them.
  unsplash.hook('preSubcommand', (parent, sub) => {
    sub.copyInheritedSettings(parent)
  })

  add(
    unsplash
      .command('search')
      .description('photos matching search words')
      .argument('<words...>', 'what to search for, or a search page address (unsplash.com/s/photos/...)')
      .addOption(limitOption(30))
      .addOption(orderBy(SEARCH_ORDERS))
      .addOption(new Option('--color <color>', 'dominant colour').choices([...COLORS]))
      .addOption(orientation())
      .addOption(contentFilter())
      .option('--collections <ids>', 'only in these collections (comma-separated ids)'),
  ).action((words: string[], o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.searchEndpoint(words.join(' '), o), cmd),
  )

  add(
    unsplash
      .command('collection')
      .description("a collection's photos")
      .argument('<id>', 'collection id or unsplash.com/collections/... address')
      .addOption(limitOption('all'))
      .addOption(orientation()),
  ).action((id: string, o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.collectionEndpoint(id, o), cmd),
  )

  add(
    unsplash
      .command('user')
      .description("a photographer's photos")
      .argument('<username>', 'username, @username or unsplash.com/@... address')
      .addOption(limitOption(30))
      .addOption(orderBy(USER_ORDERS))
      .addOption(orientation()),
  ).action((name: string, o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.userEndpoint(name, o), cmd),
  )

  add(
    unsplash
      .command('likes')
      .description('the photos a user liked')
      .argument('<username>', 'username, @username or unsplash.com/@.../likes address')
      .addOption(limitOption(30))
      .addOption(orderBy(LIKES_ORDERS))
      .addOption(orientation()),
  ).action((name: string, o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.likesEndpoint(name, o), cmd),
  )

  add(
    unsplash
      .command('topic')
      .description("a topic's photos")
      .argument('<topic>', 'topic slug or id (nature, wallpapers...)')
      .addOption(limitOption(30))
      .addOption(orderBy(TOPIC_ORDERS))
      .addOption(orientation()),
  ).action((topic: string, o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.topicEndpoint(topic, o), cmd),
  )

  add(
    unsplash
      .command('random')
      .description('random photos, optionally narrowed down')
      .option('--count <n>', 'how many photos', integer(1), 1)
      .option('--query <words>', 'only photos matching these words (not with --collections or --topics)')
      .option('--username <name>', "only this photographer's photos")
      .option('--collections <ids>', 'only from these collections (comma-separated ids)')
      .option('--topics <ids>', 'only from these topics (comma-separated ids)')
      .addOption(orientation())
      .addOption(contentFilter()),
  ).action((o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.randomEndpoint(o), cmd, o.count as number),
  )

  add(
    unsplash
      .command('photo')
      .description('single photos by id')
      .argument('<ids...>', 'photo ids or unsplash.com/photos/... addresses'),
  ).action((ids: string[], _o: Record<string, unknown>, cmd: Command) =>
    run(endpoints.photoEndpoint(ids), cmd, Number.POSITIVE_INFINITY),
  )
  return unsplash
}
