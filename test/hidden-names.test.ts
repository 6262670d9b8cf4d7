import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { emptyInputLine } from '../src/cli/pull-command.js'
import { readCaFile } from '../src/fetch/trust.js'
import { layout, noJournal } from '../src/layout.js'
import { bindFolder } from '../src/queue/publish.js'
import {
  folderGone,
  folderTaken,
  journalReadFault,
  localFault,
  mkdirFault,
  workFileInTheWay,
} from '../src/sinks/local-faults.js'
import { checkOwnOutputs } from '../src/sinks/own-outputs.js'
import { firstNotAList } from '../src/sources/lines.js'
import { packedTableName, wrongTableFormat } from '../src/sources/tables/format.js'
import { tableSource } from '../src/sources/tables/index.js'
import type { TableJob } from '../src/sources/tables/job.js'
import { notATable } from '../src/sources/tables/not-a-table.js'
import { visibleShellWord } from '../src/utils/command-line.js'
import { HIDDEN_CHARS } from '../src/utils/printable.js'
import { tildeHint } from '../src/utils/tilde.js'
import { cleanup, runCli, tempDir } from './support/cli.js'

/**
 * Names of a user's files and folders that hide what they are: a newline (a log reader sees two
 * records), a right-to-left override (the rest of the line reversed on screen), an ESC sequence
 * (recolours or rewrites the terminal), a DEL and a zero-width space.
 */
const NAMES = ['list\nrm -rf x', 'photos\u202egpj', 'x\x1b[31mred\x1b]0;title\x07', 'a\x7fb\u200bc']
const HIDDEN = new RegExp(HIDDEN_CHARS)

let dir: string
before(async () => {
  dir = await tempDir()
})
after(() => cleanup(dir))

/** What a message builder says of a file or folder at `path`. */
type Builder = [what: string, say: (path: string) => Promise<string> | string]

const message = (error: unknown) => (error as Error).message
const thrown = async (f: () => unknown): Promise<string> => {
  try {
    await f()
  } catch (error) {
    return message(error)
  }
  assert.fail('no error')
}

/**
 * The first row of a table at `p` plus `.ext` (a copy of a DuckDB fixture for Parquet), as its
 * reader makes it.
 */
async function tableRow(p: string, ext: string, text?: string): Promise<TableJob> {
  await mkdir(join(p, '..'), { recursive: true })
  const path = `${p}.${ext}`
  if (text === undefined)
    await copyFile(new URL('./fixtures/tables/duckdb-snappy.parquet', import.meta.url), path)
  else await writeFile(path, text)
  for await (const job of tableSource([path])) return job
  throw new Error(`no row in ${path}`)
}

/** How a row's place reads in the message of a fetch that failed (`(a.csv line 2)`). */
const rowPlace = (job: TableJob) => (job as unknown as { where: string }).where

const BUILDERS: Builder[] = [
  ['a folder gone from under the run', (p) => message(folderGone(p))],
  ['a file where a folder must be', (p) => message(folderTaken(p))],
  [
    'a journal that cannot be written',
    (p) => message(localFault(Object.assign(new Error('denied'), { code: 'EACCES' }), 'journal', p)),
  ],
  [
    'an output file that cannot be written',
    (p) => message(localFault(Object.assign(new Error('denied'), { code: 'EACCES', path: p }), 'output', p)),
  ],
  [
    'an output folder that cannot be made',
    (p) => message(mkdirFault(Object.assign(new Error('denied'), { code: 'EACCES', path: p }), p)),
  ],
  [
    'a journal that cannot be read',
    (p) =>
      message(journalReadFault(Object.assign(new Error('no such table: jobs'), { code: 'SQLITE_ERROR' }), p)),
  ],
  [
    'an image given as a list with a table option',
    async (p) => {
      await mkdir(join(p, '..'), { recursive: true })
      await writeFile(p, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))
      return message(await firstNotAList([p]))
    },
  ],
  [
    "a queue's output folder that holds a local run",
    async (p) => {
      await mkdir(join(p, '.imgpull'), { recursive: true })
      await writeFile(join(p, '.imgpull', 'journal.db'), '')
      return thrown(() => bindFolder(p, 'a'.repeat(64), 'q', 'files'))
    },
  ],
  [
    'a folder where a work file goes',
    async (p) => {
      await mkdir(p, { recursive: true })
      return message(workFileInTheWay([{ path: p, holds: 'the journal' }]))
    },
  ],
  [
    'a FIFO where the report goes',
    async (p) => {
      await mkdir(p, { recursive: true })
      execFileSync('mkfifo', [join(p, 'report.html')])
      return thrown(() => checkOwnOutputs({ out: p }, ['report.html']))
    },
  ],
  ['a folder with no journal', (p) => message(noJournal(p, layout(p)))],
  ['a table of another format', (p) => message(wrongTableFormat(p, 'CSV', 'jsonl'))],
  ['a table compressed with zstd', (p) => message(packedTableName(`${p}.csv.zst`)!).replace('.csv.zst', '')],
  ['a web page saved as a table', (p) => message(notATable(p, 'csv', Buffer.from('<!DOCTYPE html><html>'))!)],
  ['a CA file that is not there', (p) => thrown(() => readCaFile(p))],
  [
    'a JSON lines row that holds no URL',
    async (p) => (await tableRow(p, 'jsonl', '{"url":"not a url"}\n')).invalid!.message,
  ],
  [
    'a JSON lines row whose fetch failed',
    async (p) => rowPlace(await tableRow(p, 'jsonl', '{"url":"http://a.test/x.jpg"}\n')),
  ],
  [
    'a CSV row whose fetch failed',
    async (p) => rowPlace(await tableRow(p, 'csv', 'url\nhttp://a.test/x.jpg\n')),
  ],
  ['a Parquet row whose fetch failed', async (p) => rowPlace(await tableRow(p, 'parquet'))],
  ['a run that read no URL', (p) => emptyInputLine([p])],
]

test("a message naming a user's file or folder shows its hidden characters as escapes a shell reads back", async () => {
  let n = 0
  for (const [what, say] of BUILDERS) {
    for (const name of NAMES) {
      const path = join(dir, `${n++}`, name)
      const said = await say(path)
      const label = `${what}: ${JSON.stringify(said)}`
      // One line, nothing a terminal acts on or hides...
      assert.doesNotMatch(said, HIDDEN, label)
      // ...and the name as a shell reads it back ($'…'), not printable's escapes in plain quotes
      // (without the closing quote: a message may name a file in the folder, `$'…/report.html'`).
      assert.ok(said.includes(visibleShellWord(path).slice(0, -1)), label)
    }
  }
})

test('a name without hidden characters reads in a message as before', () => {
  assert.equal(message(folderGone('photos')), 'the folder photos is gone')
  assert.match(
    message(noJournal('/no/such/photos', layout('/no/such/photos'))),
    /^no imgpull journal in '\/no\/such\/photos': /,
  )
  assert.equal(emptyInputLine(['urls.txt']).split(':')[0], 'No input found in urls.txt')
  assert.equal(tildeHint('~/my list.txt', 'ENOENT').match(/\$HOME'[^']*'/)?.[0], "$HOME'/my list.txt'")
  assert.match(tildeHint(`~/${NAMES[0]}`, 'ENOENT'), /\$HOME\$'\/list\\x0arm -rf x'\)$/)
})

test('the command line: a missing list, an -o through a file and a run stopped by its journal name the path as it is', async () => {
  const cwd = join(dir, 'cli')
  await mkdir(cwd)
  const list = 'urls\n\u202etxt.list'
  const missing = await runCli([list], { cwd })
  assert.equal(missing.code, 2)
  assert.equal(
    missing.stderr,
    `imgpull: cannot read input $'urls\\x0a\\u202etxt.list': no such file (see imgpull --help)\n`,
  )

  await writeFile(join(cwd, 'urls.txt'), 'http://127.0.0.1:9/a.jpg\n')
  const file = 'x\x1b[2Jy'
  await writeFile(join(cwd, file), '')
  const through = await runCli(['urls.txt', '-o', `${file}/out`], { cwd })
  assert.equal(through.code, 2)
  assert.match(
    through.stderr,
    /argument \$'x\\x1b\[2Jy\/out' is invalid\. expected a folder, but \$'x\\x1b\[2Jy' on its way is a file/,
  )

  // A folder where the journal goes: the run stops (exit 3) before any request, in one line.
  const out = 'out\u202e\n'
  await mkdir(join(cwd, out, '.imgpull', 'journal.db'), { recursive: true })
  const fatal = await runCli(['urls.txt', '-o', out], { cwd })
  assert.equal(fatal.code, 3, fatal.stderr)
  assert.doesNotMatch(fatal.stderr.trimEnd(), HIDDEN)
  assert.equal(fatal.stderr.split('\n').length, 2, fatal.stderr)
  assert.match(fatal.stderr, /^imgpull: \$'out\\u202e\\x0a\/\.imgpull\/journal\.db' is a folder, not a file/)
})
