import { existsSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { FatalError, FolderBusyError, UsageError } from '../errors.js'
import { layout } from '../layout.js'
import { visibleShellWord } from '../utils/command-line.js'
import { nearWord } from '../utils/near-word.js'
import { nativeFault, unloadableCode, unloadableLine } from '../utils/own-code.js'
import { printable } from '../utils/printable.js'
import { withoutUserInfo } from '../utils/url.js'
import { VERSION } from '../version.js'
import { benchCommand } from './bench-command.js'
import { addEnqueueCommand } from './enqueue-command.js'
import { flagWords } from './flag-words.js'
import { strictOptions } from './option-values.js'
import {
  attachedName,
  type OptionPlace,
  otherToolOption,
  type RunCommand,
  withoutSecret,
} from './other-tools.js'
import { engineTypeError, ownFaultLine } from './own-fault.js'
import { EXIT, handleEarlySignals, pullCommand } from './pull-command.js'
import { addPullOptions, certFlagWords, pullOptionsFrom } from './pull-options.js'
import { exitCodesHelp } from './queue-exits.js'
import { addQueueOptions, redisFrom, redisSource } from './queue-options.js'
import { addTableOptions, tableFrom } from './table-options.js'
import { oneDashLong, optionTakenAsValue, valueGivenToFlag } from './taken-as-value.js'
import { addTransformOptions, transformFrom } from './transform-options.js'
import { addUnsplashCommand, unsplashOptionWords } from './unsplash-command.js'
import { addWorkerCommand } from './worker-command.js'

/**
 * The command line, defined without side effects: building it parses nothing and runs nothing
 * (the executable entry is bin.ts, then start.ts).
 */
export function buildProgram(): Command {
  const program = new Command('imgpull')
    .description('Pull images from the web in bulk: concurrent, verified, atomic, resumable.')
    .version(VERSION)
    .argument(
      '[inputs...]',
      'image URLs, files with one URL per line, - for stdin, or tables (CSV, TSV, JSON lines, Parquet) or a folder of them',
    )
    .showHelpAfterError(false)
    // Program options before a subcommand only: subcommands have options of their own by the same
    // names (unsplash's --size is a ready-made size, the transform stage's is pixels).
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  imgpull https://images.unsplash.com/photo-1516117172878-fd2c41f4a759 -o photos
  imgpull urls.txt -o photos
  cat urls.txt | imgpull - -o photos --json
  imgpull status photos
  imgpull enqueue urls.parquet --redis redis://host:6379 --queue laion-part1 --shard-size 10000
  imgpull worker --redis redis://host:6379 --queue laion-part1 -o /mnt/shared/out
  imgpull status --redis redis://host:6379 --queue laion-part1
  imgpull report photos                 # rebuild photos/report.html
  imgpull unsplash search "mountain lake" --limit 200 -o lakes

Many machines: see imgpull enqueue --help and imgpull worker --help.

An option of one value given again with another value takes the last, with a warning naming both (-H and --ca-cert add one each time).

Exit codes: 0 all done, 1 some failed, 2 usage error, 3 stopped by a fatal error (disk full...), 70 a fault of imgpull's own (a bug: the line says where to report it), 75 Unsplash rate limit reached with --on-rate-limit stop, 130 interrupted.`,
    )
  addPullOptions(program)
  addTransformOptions(program)
  addTableOptions(program)
  program.action(async (inputs: string[], o: Record<string, unknown>) => {
    const { options, flags } = pullOptionsFrom(o)
    process.exitCode = await pullCommand(
      inputs,
      { ...options, transform: transformFrom(o) },
      { ...flags, outGiven: program.getOptionValueSource('out') === 'cli' },
      tableFrom(o),
    )
  })
  const status = program
    .command('status')
    .description(
      "show what the journal of an output folder knows (counts by status, commonest errors; of a queue's workers' output folder, all its shards' as one, and which are published, being run, stopped or not started), or a queue's progress (--queue)",
    )
    .argument('[dir]', "output folder of an earlier run or of a queue's workers")
  addQueueOptions(status, false)
    .option('--json', 'the status as one JSON object')
    .option(
      '--failed [code]',
      "instead, every failed URL as given (credentials out, signing parameters kept), one a line, in input order, on stdout (counts on stderr): all the folder's failures (those of another list run into it too; a queue's output folder: all its shards'), or those of one code (http-404, timeout...); read from the journal, so also during a run or after a kill: imgpull status OUT --failed http-404 > 404.txt",
    )
    .addHelpText('after', exitCodesHelp('status'))
    .action(async (dir: string | undefined, o: Record<string, unknown>) => {
      if (o.failed !== undefined) {
        if (o.queue !== undefined)
          throw new UsageError(
            "--failed lists an output folder's failed URLs, not a queue's: give the workers' output folder (imgpull status OUT --failed), which lists its shards' failures",
          )
        if (o.json)
          throw new UsageError('--failed prints URLs one a line, --json one object: give one of them')
        let code = o.failed === true ? undefined : (o.failed as string)
        // `imgpull status --failed photos`: the folder taken as the code.
        if (dir === undefined && code !== undefined && existsSync(code)) [dir, code] = [code, undefined]
        if (dir === undefined)
          throw new UsageError(
            `give the output folder: imgpull status OUT --failed [CODE]${hereWords('status', ' --failed')}`,
          )
        process.exitCode = await (await import('./failed-command.js')).failedCommand(dir, code)
        return
      }
      // Loaded with the command that needs it: every start-up would parse it (and SQLite's addon).
      const { queueStatusCommand, statusCommand } = await import('./status-command.js')
      if (o.queue !== undefined) {
        if (dir !== undefined) throw new UsageError('give an output folder or --queue, not both')
        process.exitCode = await queueStatusCommand(
          redisFrom(o),
          o.queue as string,
          o.json === true,
          undefined,
          redisSource(o),
        )
      } else if (dir === undefined)
        throw new UsageError(
          `give an output folder, or --queue NAME (with --redis URL)${hereWords('status')}`,
        )
      else statusCommand(dir, o.json === true)
    })
  program
    .command('report')
    .description(
      "(re)build DIR/report.html from the folder's journal, also after an interrupted run; of a queue's workers' output folder, one page of all its shards",
    )
    .argument('<dir>', "output folder of an earlier run or of a queue's workers")
    .action(async (dir: string) => (await import('./report-command.js')).reportCommand(dir))
  addUnsplashCommand(program)
  addEnqueueCommand(program)
  addWorkerCommand(program)
  benchCommand(program)
  // Every command's options: one line each, and one value each (but -H, --ca-cert).
  return strictOptions(program)
}

/** Parse `argv` and run the command it names; resolves to the exit code, never throws. */
export async function main(argv = process.argv): Promise<number> {
  handleEarlySignals()
  const program = buildProgram()
  program.exitOverride()
  program.configureOutput({ writeErr: () => {} })
  for (const sub of program.commands) {
    sub.exitOverride()
    sub.configureOutput({ writeErr: () => {} })
  }
  // A usage error points at the help of the command it is about: `--dpr` is in `imgpull unsplash
  // search --help`, not in `imgpull --help`.
  const { path, command, at } = commandOf(program, argv)
  // `imgpull help [command]`, as git and npm take it (a list file named `help` is still read).
  if (command === program && argv[at] === 'help' && !existsSync('help')) {
    // `imgpull help nonsense` would show the main help and exit 0, as if it were an answer.
    const asked = argv[at + 1]
    const names = program.commands.map((c) => c.name())
    if (asked !== undefined && !asked.startsWith('-') && !names.includes(asked)) {
      const meant = nearWord(asked, names)
      process.stderr.write(
        `imgpull: no command '${printable(asked)}'${meant ? `; did you mean imgpull help ${meant}?` : ''} (commands: ${names.join(', ')}; see imgpull --help)\n`,
      )
      return EXIT.usage
    }
    return main([...argv.slice(0, at), ...argv.slice(at + 1), '--help'])
  }
  const help = `(see ${path} --help)`
  // An error's words may quote a table's column names or cells, a server's or a file's text: its
  // control characters and bidi marks are shown as escapes, never acted on by the terminal.
  const say = (line: string) => process.stderr.write(`imgpull: ${printable(line)}\n`)
  const faultLine = (error: unknown) => {
    const out = command.opts().out
    const pull = command === program
    return ownFaultLine(error, typeof out === 'string' ? out : pull ? '.' : undefined, pull)
  }
  // A bug met outside the command's own awaits (a callback's throw, a promise no one awaited):
  // Node printed its stack over 10 lines and exited 1, as if files had failed, leaving the lock
  // and no manifest. The same line as any fault of imgpull's own, and 70; what the journal had
  // committed stays (SQLite's), so the rerun continues.
  const crash = (error: unknown) => {
    process.stderr.write(`imgpull: ${printable(faultLine(error))}\n`)
    process.exit(EXIT.software)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  try {
    const swallowed = optionTakenAsValue(command, argv.slice(at))
    if (swallowed !== undefined) throw new UsageError(swallowed)
    const truth = valueGivenToFlag(command, argv.slice(at))
    if (truth !== undefined) throw new UsageError(truth)
    const dashed = oneDashLong(command, argv.slice(at))
    if (dashed !== undefined) throw new UsageError(dashed)
    const named = command.options.some((o) => o.short === '-n') ? attachedName(argv.slice(at)) : undefined
    if (named !== undefined) throw new UsageError(named)
    // Before the options are parsed: `imgpull wroker --queue q` is no unknown --queue.
    const typo =
      command === program
        ? mistypedCommand(
            argv[at],
            program.commands.map((c) => c.name()),
          )
        : undefined
    if (typo !== undefined) throw new UsageError(typo)
    await program.parseAsync(argv)
    return Number(process.exitCode ?? EXIT.ok)
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok // --help, --version
      // A run's option given to a worker (`--resize`): commander guessed at a worker option near
      // it ("did you mean --redis?"), where the option is the queue's, set once at enqueue.
      const queued = command.name() === 'worker' ? enqueuedOption(program, error) : undefined
      if (queued) {
        say(`${queued} (see imgpull enqueue --help)`)
        return EXIT.usage
      }
      // Commander suggests a near option on a line of its own: one line, as every usage error.
      // Commander quotes the value it refused: a URL's user and password stay off the terminal.
      const message = withoutUserInfo(
        unknownOptionHint(error, command) ??
          choiceHint(error) ??
          missingArgumentWords(error, command, path) ??
          error.message
            .replace(/^error: /, '')
            .replace(/\n\((Did you mean [^)]*)\)$/, (_, s) => `; ${s.toLowerCase()}`)
            // The value refused (a folder's name), as a shell reads it back: in plain quotes,
            // printable's `\x0a` named another folder.
            .replace(
              / argument '([\s\S]*)' is invalid\./,
              (_, v: string) => ` argument ${visibleShellWord(v, 'always')} is invalid.`,
            ),
      )
      say(`${message} ${help}`)
      return EXIT.usage
    }
    if (error instanceof FatalError) {
      // A local fault (a folder that cannot be written): one line, what to do, exit 3.
      say(`${error.message}${error.hint ? `; ${flagWords(error.hint)}` : ''}`)
      return EXIT.fatal
    }
    if (error instanceof FolderBusyError) {
      say(`${error.message}`)
      return EXIT.usage
    }
    // A TypeError of V8's own (`Cannot read properties of undefined`) is a bug, not a bad value.
    if (error instanceof UsageError || (error instanceof TypeError && !engineTypeError(error))) {
      // The library names its fields (`background`); the command line, its options (--background).
      // An environment variable (`ALL_PROXY`) keeps its name.
      const message =
        error instanceof UsageError
          ? flagWords(error.message)
          : certFlagWords(error.message, command.opts().certPasswordFile as string | undefined).replace(
              /^Expected `([a-z][a-zA-Z0-9]*)`/,
              // `netrc` is --netrc-file's too, when that flag named the file.
              (_, field: string) =>
                `Expected --${field === 'netrc' && command.opts().netrcFile !== undefined ? 'netrc-file' : kebab(field)}`,
            )
      say(`${message} ${help}`)
      return EXIT.usage
    }
    // A command's code loaded on demand (`imgpull status`'s, `report`'s) where no descriptor was left.
    const unloadable = unloadableCode(error)
    if (unloadable) {
      say(
        `${unloadableLine(unloadable)}; raise the limit on open files (ulimit -n 4096) and run the same command again`,
      )
      return EXIT.fatal
    }
    // The journal's SQLite built for another Node (after nvm use): a local fault, what to run.
    const native = nativeFault(error)
    if (native) {
      say(native)
      return EXIT.fatal
    }
    // Anything else is a bug of imgpull's: one line saying so, the stack in a file, exit 70.
    say(faultLine(error))
    return EXIT.software
  }
}

/**
 * For an unknown option of `imgpull worker` that `imgpull enqueue` takes (a run's, transform or
 * table option): why the worker takes it not, in words; `undefined` otherwise.
 */
function enqueuedOption(program: Command, error: CommanderError): string | undefined {
  if (error.code !== 'commander.unknownOption') return undefined
  const flag = /unknown option '([^'=]+)/.exec(error.message)?.[1]
  const enqueue = program.commands.find((c) => c.name() === 'enqueue')
  if (!flag || !enqueue?.options.some((o) => !o.hidden && (o.long === flag || o.short === flag)))
    return undefined
  return `${flag} is the queue's option, not a worker's: every shard carries the options of its enqueue, and every worker runs them alike; give it to imgpull enqueue (another value for an input already queued: enqueue it into a queue of its own)`
}

/**
 * A first input that is no file but a command's name mistyped (`imgpull stauts photos`): said so
 * with the command meant, before anything else the inputs say (`photos` given as the last input
 * is an output folder). `undefined` for any other input.
 */
function mistypedCommand(input: string | undefined, commands: string[]): string | undefined {
  if (input === undefined || !/^[a-z][a-z-]*$/i.test(input) || existsSync(input)) return undefined
  const meant = nearWord(input, commands)
  return meant === undefined
    ? undefined
    : `cannot read input '${input}': no such file, nor a command; did you mean imgpull ${meant}?`
}

/**
 * An unknown option that is a file's name (`imgpull -x.txt`): how to give it; one of another tool
 * (wget's `-i`, aria2c's `-j8`, curl's `-Z`): what imgpull does instead. `undefined` otherwise.
 */
function unknownOptionHint(error: CommanderError, command: Command): string | undefined {
  if (error.code !== 'commander.unknownOption') return undefined
  const flag = /unknown option '([^']+)'/.exec(error.message)?.[1]
  if (!flag) return undefined
  if (existsSync(flag))
    return `unknown option '${flag}'; a file of that name is given after -- (imgpull -o DIR -- ${flag}) or as ./${flag}`
  // curl's `--pass=secret`, `-ubob:secret`: named without the password, whatever else is said.
  const shown = withoutSecret(flag)
  // An Unsplash command's: the API's parameter or another command's option (`search --count`).
  const unsplash =
    command.parent?.name() === 'unsplash' ? unsplashOptionWords(flag, command.name()) : undefined
  if (unsplash !== undefined) return `unknown option '${shown}', ${unsplash}`
  const root = rootOf(command)
  const run = runCommand(root, command)
  const other = run && otherToolOption(flag, run, optionPlace(root, command, run))
  if (other !== undefined) return `unknown option '${shown}', ${other}`
  // Commander offers a near option only within a few letters: `--caption` was said bare, where
  // `--caption-col` is the one meant. The one option whose name goes on from it is named.
  const longer = /Did you mean/.test(error.message) ? undefined : optionGoingOn(flag, command)
  if (longer !== undefined) return `unknown option '${shown}'; did you mean ${longer}?`
  return shown === flag ? undefined : `unknown option '${shown}'`
}

/**
 * The one option of `command` whose long name is `flag` followed by more words (`--caption`:
 * `--caption-col`; `--shard`: `--shard-size`), or `undefined` (none, or several: `--max`).
 */
function optionGoingOn(flag: string, command: Command): string | undefined {
  const name = flag.split('=')[0]!
  if (!/^--[a-z0-9]/.test(name)) return undefined
  const found = command.options.filter((o) => !o.hidden && o.long?.startsWith(`${name}-`))
  return found.length === 1 ? found[0]!.long : undefined
}

/** The program a command belongs to. */
const rootOf = (command: Command): Command => (command.parent ? rootOf(command.parent) : command)

/** A command img2dataset's options may be typed to: the run itself, or a queue's enqueue or worker. */
function runCommand(root: Command, command: Command): RunCommand | undefined {
  if (command === root) return 'pull'
  const name = command.name()
  return command.parent === root && (name === 'enqueue' || name === 'worker') ? name : undefined
}

/**
 * Where `command`'s options are (see `OptionPlace`): its own, then, for a queue's enqueue or
 * worker, the other's (a worker's `-o`, enqueue's `--resize`).
 */
function optionPlace(root: Command, command: Command, run: RunCommand): OptionPlace {
  const takes = (c: Command | undefined, long: string) =>
    c?.options.some((o) => !o.hidden && o.long === long) === true
  const other = run === 'enqueue' ? 'worker' : run === 'worker' ? 'enqueue' : undefined
  const queue = root.commands.find((c) => c.name() === other)
  return (long) => (takes(command, long) ? 'here' : other && takes(queue, long) ? other : undefined)
}

/**
 * A command's argument left out (`imgpull report`): what it is, from its help, and where it goes,
 * where commander said only `missing required argument 'dir'`. `undefined` for other errors.
 */
function missingArgumentWords(error: CommanderError, command: Command, path: string): string | undefined {
  if (error.code !== 'commander.missingArgument') return undefined
  const name = /missing required argument '([^']+)'/.exec(error.message)?.[1]
  const argument = command.registeredArguments.find((a) => a.name() === name)
  if (name === undefined || argument === undefined) return undefined
  const shown = name.toUpperCase()
  const here = command.name() === 'report' && name === 'dir' ? hereWords('report') : ''
  return `missing ${shown}, ${argument.description}: ${path} ${shown}${argument.variadic ? '...' : ''}${here}`
}

/**
 * `status` and `report` take no default folder, where a run writes into the working folder when
 * given no `-o` (its default, `.`): in such a folder, the words that name it (`; this folder holds
 * a run's journal: imgpull status .`), else `''`.
 */
function hereWords(command: 'status' | 'report', after = ''): string {
  return existsSync(layout('.').journal)
    ? `; this folder holds a run's journal: imgpull ${command} .${after}`
    : ''
}

/** What img2dataset's `--input_format` values are here, where imgpull's has no such choice. */
function inputFormatWords(value: string): string | undefined {
  const bare = value.toLowerCase().replace(/\.gz$/, '')
  if (bare === 'txt')
    return 'a list of URLs is read as it is, without --input-format (it names the kind of a table)'
  if (bare === 'json')
    return "a .json array of records is made JSON lines by jq -c '.[]' FILE > rows.jsonl, read as --input-format jsonl"
  if (bare !== value.toLowerCase() && ['csv', 'tsv', 'jsonl', 'parquet'].includes(bare))
    return `a gzip-compressed table is told by its bytes: --input-format ${bare}`
  return undefined
}

/**
 * A value not among an option's choices: the one meant, where it is near (img2dataset's
 * `keep_ratio` for `keep-ratio`, `jpeg` for `jpg`, `SHA256`), or what img2dataset's
 * `--input_format` values are here; `undefined` otherwise (commander lists the choices).
 */
function choiceHint(error: CommanderError): string | undefined {
  if (error.code !== 'commander.invalidArgument') return undefined
  const m =
    /^error: option '(?:-\w, )?(--[\w-]+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/s.exec(
      error.message,
    )
  if (!m) return undefined
  const [, flag, value, list] = m
  const choices = list.split(', ')
  const refused = error.message.replace(/^error: /, '').replace(/\.$/, '')
  const words =
    flag === '--input-format'
      ? inputFormatWords(value)
      : flag === '--hash'
        ? hashWords(value)
        : flag === '--output-format'
          ? outputFormatWords(value)
          : undefined
  if (words !== undefined) return `${refused}; ${words}`
  const meant = meantChoice(value, choices)
  return meant === undefined ? undefined : `${refused}; did you mean ${flag} ${meant}?`
}

/** Other names of a choice, as other tools and file names spell it. */
const CHOICE_ALIASES: Record<string, string> = {
  ndjson: 'jsonl', // read as JSON lines by its extension: `.ndjson`
  wds: 'webdataset', // WebDataset's own short name
  tar: 'webdataset',
}

/**
 * The choice a refused value meant, or `undefined`: one a letter or two off (img2dataset's
 * `keep_ratio`, `jpeg`), one of another name (`ndjson`, `wds`), or the only choice the value is
 * one part of (`center` or `crop`: `center-crop`; `keep` is two choices', so none).
 */
function meantChoice(value: string, choices: readonly string[]): string | undefined {
  const word = value.toLowerCase().replaceAll('_', '-')
  const alias = CHOICE_ALIASES[word]
  if (alias !== undefined && choices.includes(alias)) return alias
  const near = nearWord(word, choices)
  if (near !== undefined) return near
  const holding = choices.filter((c) => c.includes('-') && c.split('-').includes(word))
  return holding.length === 1 ? holding[0] : undefined
}

/**
 * img2dataset's other `--output_format` values: what imgpull writes instead. Its `parquet` holds
 * the images in the rows, its `tfrecord` TensorFlow's records, its `dummy` nothing.
 */
function outputFormatWords(value: string): string | undefined {
  const bare = value.toLowerCase()
  const instead =
    'imgpull writes files, or webdataset: tar shards, each with a .parquet of its rows (their URLs, captions, status, sizes and sha256) beside it'
  if (bare === 'parquet') return `img2dataset's parquet (images inside the rows) is not written; ${instead}`
  if (bare === 'tfrecord') return `img2dataset's tfrecord is not written; ${instead}`
  if (bare === 'dummy')
    return "img2dataset's dummy (nothing written) is not here: imgpull bench LIST measures a run"
  return undefined
}

/**
 * `--hash` given another digest (md5, sha1...): the hash imgpull records of each file is sha256;
 * one the input states for each row is checked with `--hash-col` and `--hash-type` (md5 or sha256).
 */
function hashWords(value: string): string | undefined {
  const bare = value.toLowerCase().replace(/[-_]/g, '')
  if (bare === 'md5')
    return 'to check an MD5 each row states, give --hash-col COL --hash-type md5 (--hash is the digest imgpull records of each file)'
  if (/^sha(1|224|384|512)$/.test(bare))
    return `imgpull records sha256 of each file; a ${bare.toUpperCase()} column cannot be checked (--hash-type takes md5 or sha256)`
  return undefined
}

/**
 * The command `argv` runs, as typed: `imgpull unsplash search` for `imgpull unsplash search lake
 * --dpr 9`, and where its own words start. Words are read up to the first that names no
 * subcommand (an input, an option).
 */
function commandOf(
  program: Command,
  argv: readonly string[],
): { path: string; command: Command; at: number } {
  const path = [program.name()]
  let command = program
  let at = 2
  for (const word of argv.slice(2)) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word))
    if (!sub) break
    path.push(sub.name())
    command = sub
    at++
  }
  return { path: path.join(' '), command, at }
}

/** `maxAspectRatio` → `max-aspect-ratio`: a library field as its command-line option. */
function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
