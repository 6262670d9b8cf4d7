/**
 * Side by side on disks that misbehave: each case is a fault of the disk or folder a list is
 * downloaded into, modelled on a public report named with it: the disk filling mid-run, its
 * inodes running out, a limit on file sizes smaller than one image, few file descriptors, the
 * output folder removed or moved mid-run, a file where the folder should be, a folder where an
 * image should be, a link at an image's name pointing outside the folder, a linked output folder,
 * imgpull's journal removed, emptied, cut or replaced between runs, kill -9 mid-run, two runs on
 * one folder at once and a read-only disk. A local image server (one fast, one at 30 kB/s a
 * file for the cases that strike mid-run) serves 60 JPEGs; each tool (imgpull, curl `--parallel`
 * with `-o` and `--output-dir`, `wget2 -i -P`, `aria2c -i -d`, each at its defaults) reads the
 * list into a folder of its own. The fault is then taken away and each runs again, as its own
 * resume: imgpull the same command, `curl -C -`, `wget2 -c`, `aria2c -c`. Prints per case and
 * tool the images kept whole after the first run, the files kept that are not the image (WRONG),
 * a file outside the folder written through a link (a hard fault), the exit code, whether the
 * rerun leaves every image whole, how many whole images it fetched again (a request from byte
 * 0 for an image already whole), and the first error line shown.
 *
 * Needs root (tmpfs mounts, `prlimit`), as on the bench machine:
 *
 *   npm run build && node --import tsx bench/misbehave-disk.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import { makeImage } from '../test/support/images.js'
import {
  benchArgs,
  cellText as cellLine,
  digest,
  errorLine as firstError,
  printTable,
  toolTable,
} from './misbehave.js'
import { IMGPULL } from './tools.js'

/** Images in a case's list. */
const COUNT = 60
/** When a mid-run fault strikes, ms after the first run starts. */
const STRIKE_MS = 1_500
/** Each run's cap, ms. */
const CAP_MS = 60_000

interface Ctx {
  /** The tool's scratch folder. */
  root: string
  /** Its output folder. */
  out: string
  /** A tmpfs mounted for the case, when it has one. */
  mnt?: string
  /** A file outside the output folder that no run may change. */
  outside: string
}

interface DiskCase {
  id: string
  /** The report this case is modelled on. */
  report: string
  /** Served at 30 kB/s a file, so that a fault mid-run finds every tool mid-run. */
  slow?: boolean
  /** The output folder on a tmpfs of this size and these inodes. */
  disk?: { size: string; inodes?: number }
  /** Set up the fault before the first run. */
  before?(ctx: Ctx): Promise<void>
  /** Strike mid-run, `STRIKE_MS` after the first run starts. */
  during?(ctx: Ctx): Promise<void> | void
  /** The first run under these limits (`prlimit` options). */
  limits?: string[]
  /** Killed with SIGKILL at `STRIKE_MS`. */
  kill?: boolean
  /** Two runs of the same command on the one folder at once. */
  twice?: boolean
  /** Between the runs, after a first run that is let finish: a fault of imgpull's journal. */
  between?(ctx: Ctx): Promise<void>
  /** A fault of imgpull's alone (its journal): the peers' cells point to `journal-removed`. */
  imgpullOnly?: boolean
  /** Take the fault away before the rerun. */
  lift?(ctx: Ctx): Promise<void> | void
}

const remount = (mnt: string, options: string): void => {
  execFileSync('mount', ['-o', `remount,${options}`, mnt])
}
const journalOf = (ctx: Ctx) => join(ctx.out, '.imgpull', 'journal.db')
const rmJournal = async (ctx: Ctx) => {
  for (const f of ['journal.db', 'journal.db-wal', 'journal.db-shm'])
    await rm(join(ctx.out, '.imgpull', f), { force: true })
}

function cases(): DiskCase[] {
  return [
    {
      id: 'disk-full',
      report:
        'curl/curl#4937-like, NixOS/nix#628 (`curl: (23) Failed writing body` on a tmpfs that filled); aria2/aria2#1278 (files cut by an error kept under their names): a 900 kB tmpfs for 1.7 MB of images, grown to 8 MB for the rerun',
      disk: { size: '900k' },
      lift: (ctx) => remount(ctx.mnt!, 'size=8m'),
    },
    {
      id: 'inodes-out',
      report:
        'NLnetLabs/routinator#785 and ipfs/kubo#3444 (ENOSPC with space left: the inodes ran out): a tmpfs of 40 inodes, 10,000 for the rerun',
      disk: { size: '50m', inodes: 40 },
      lift: (ctx) => remount(ctx.mnt!, 'nr_inodes=10000'),
    },
    {
      id: 'file-size-limit',
      report:
        'clostra/newnode#124 (wget killed by SIGXFSZ, `File size limit exceeded`); dotnet/arcade#17309 (`ulimit -f` cuts curl at a cap): `prlimit --fsize=100000` with 3 of the images 150 kB, none for the rerun',
      limits: ['--fsize=100000'],
    },
    {
      id: 'few-descriptors',
      report:
        'isaacs/node-graceful-fs#30 and #188 (EMFILE writing many files at once): `prlimit --nofile=64` (imgpull at its 128 transfers)',
      limits: ['--nofile=64'],
    },
    {
      id: 'folder-removed',
      report:
        'bggo/Zmbkpose#32 (a share gone mid-run: `curl: (23)`, and the run stopped): `rm -rf OUT` mid-run',
      slow: true,
      during: (ctx) => rm(ctx.out, { recursive: true, force: true }),
    },
    {
      id: 'folder-moved',
      report: 'axcore/tartube#154 (files moved away behind the tool): `mv OUT OUT.moved` mid-run',
      slow: true,
      during: (ctx) => rename(ctx.out, `${ctx.out}.moved`),
    },
    {
      id: 'file-as-folder',
      report:
        'munkireport/munkireport-php#1331 (`curl: (23) Failed writing body` where a path could not be made): a file at OUT (ENOTDIR), removed for the rerun',
      before: async (ctx) => {
        await rm(ctx.out, { recursive: true, force: true })
        await writeFile(ctx.out, 'a file of the user’s\n')
      },
      lift: async (ctx) => {
        if ((await stat(ctx.out)).isFile()) await rm(ctx.out)
      },
    },
    {
      id: 'folder-as-file',
      report:
        'nzbget/nzbget#177 (a user’s own file in a download folder): a folder at `OUT/img3.jpg` (EISDIR), left in place',
      before: (ctx) => mkdir(join(ctx.out, 'img3.jpg')),
    },
    {
      id: 'link-out',
      report:
        'curl/curl#15261 (files already there overwritten in `--parallel` mode): `OUT/img3.jpg` a link to a file outside OUT',
      before: (ctx) => symlink(ctx.outside, join(ctx.out, 'img3.jpg')),
    },
    {
      id: 'linked-folder',
      report:
        'aria2/aria2#1345 (a download folder that resolves elsewhere): OUT a link to a folder beside it',
      before: async (ctx) => {
        await rm(ctx.out, { recursive: true, force: true })
        await mkdir(`${ctx.out}.real`)
        await symlink(`${ctx.out}.real`, ctx.out)
      },
    },
    {
      id: 'journal-removed',
      report:
        'Emersont1/itchio#37 and fireinrain/asmr-downloader#26 (a downloader’s record removed beside its files): `rm OUT/.imgpull/journal.db*` after a whole run (peers: a second run over a whole folder)',
      between: rmJournal,
    },
    {
      id: 'journal-emptied',
      imgpullOnly: true,
      report:
        'sierra-db/sierradb#13 (a file left empty by a power loss): `journal.db` truncated to 0 bytes, its -wal removed',
      between: async (ctx) => {
        await rmJournal(ctx).catch(() => {})
        await writeFile(journalOf(ctx), '')
      },
    },
    {
      id: 'journal-cut',
      imgpullOnly: true,
      report:
        'plexidev/quick.db#218 and brave/brave-browser#38046 (SQLite `database or disk is full`, a database cut on a network disk): `journal.db` cut to 4 KiB',
      between: async (ctx) => {
        await rm(`${journalOf(ctx)}-wal`, { force: true })
        await rm(`${journalOf(ctx)}-shm`, { force: true })
        await truncate(journalOf(ctx), 4096).catch(() => {})
      },
    },
    {
      id: 'journal-zeroed',
      imgpullOnly: true,
      report:
        "sqlite.org/howtocorrupt.html §1-2 (a page a disk or a process overwrote): `journal.db`'s first 4 KiB zeroed",
      between: async (ctx) => {
        await rm(`${journalOf(ctx)}-wal`, { force: true })
        await rm(`${journalOf(ctx)}-shm`, { force: true })
        await writeFile(journalOf(ctx), Buffer.alloc(4096), { flag: 'r+' }).catch(() => {})
      },
    },
    {
      id: 'journal-not-sqlite',
      imgpullOnly: true,
      report:
        'mattn/go-sqlite3#969 (SQLite errors a user cannot place): `journal.db` replaced by a text file',
      between: async (ctx) => {
        await rmJournal(ctx)
        await writeFile(journalOf(ctx), 'not a database\n')
      },
    },
    {
      id: 'kill-9',
      report:
        'aria2/aria2#1278 and devine-dl/devine#71 (files and control files a killed run left); DataBiosphere/azul#2838 (`curl -C -` over files a run left): SIGKILL mid-run, then each tool’s resume',
      slow: true,
      kill: true,
    },
    {
      id: 'two-at-once',
      slow: true,
      report:
        'curl/curl#4937 (files of 0 bytes from parallel transfers); aria2/aria2#1959 (one file fetched twice, as `.1`): the same command twice on one folder at once',
      twice: true,
    },
    {
      id: 'read-only',
      report:
        'ipfs/infra#167 and cBio/cbio-cluster#417 (a disk that refuses writes mid-job): OUT on a tmpfs remounted read-only before the run (a mount with files open for writing refuses `remount,ro`: EBUSY), read-write for the rerun',
      disk: { size: '50m' },
      before: async (ctx) => remount(ctx.mnt!, 'ro'),
      lift: (ctx) => remount(ctx.mnt!, 'rw'),
    },
  ]
}

interface DiskTool {
  id: string
  /** The command for `list` (`names`: each URL's file name) into `out`; `resume`: the tool's own resume. */
  args(ctx: { list: string; config: string; out: string }, resume: boolean): string[]
}

const TOOLS: DiskTool[] = [
  { id: 'imgpull', args: ({ list, out }) => [process.execPath, IMGPULL, list, '-o', out, '--no-report'] },
  {
    id: 'curl',
    args: ({ config, out }, resume) => [
      'curl',
      '--parallel',
      '-sS',
      '--fail',
      '--output-dir',
      out,
      ...(resume ? ['-C', '-'] : []),
      '-K',
      config,
    ],
  },
  {
    id: 'wget2',
    args: ({ list, out }, resume) => [
      'wget2',
      '--no-config',
      '-q',
      ...(resume ? ['-c'] : []),
      '-P',
      out,
      '-i',
      list,
    ],
  },
  {
    id: 'aria2c',
    args: ({ list, out }, resume) => ['aria2c', '-q', ...(resume ? ['-c'] : []), '-d', out, '-i', list],
  },
]

/** The files a tool keeps as downloads in `dir` (its own state left out), by path from `dir`. */
async function keptFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    if (!e.isFile()) continue
    const rel = relative(dir, join(e.parentPath, e.name))
    if (/^\.imgpull|^manifest\.jsonl$|^report\.html$|\.aria2$/.test(rel)) continue
    const bytes = await readFile(join(dir, rel)).catch(() => undefined)
    if (bytes) files.set(rel, bytes)
  }
  return files
}

function runChild(argv: string[], limits: string[] | undefined) {
  const full = limits ? ['prlimit', ...limits, '--', ...argv] : argv
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    if (stderr.length < 8000) stderr += d
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), CAP_MS)
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    }),
  )
  return { child: child as ChildProcess, done }
}

/** Lines that say nothing went wrong: progress, summaries, curl's parallel meter. */
const NOISE =
  /--:--:--|img\/s|^Details:|^Downloading|^\d+ (?:images?|downloaded)|^\(\d+ more|DL% UL%|^--:--|^\d+\s+--|^\d+ +\d+ +\d/i

/** The first line a tool shows that says something went wrong (an error's before a warning's). */
const errorLine = (stderr: string) => firstError(stderr, NOISE, { skipWarnings: true })

/** A line for a table cell: no scratch folder, no origin, no `|`, at most 110 characters. */
const cellText = (line: string) => cellLine(line, /\/tmp\/disk-[^/\s'"]+\/(?:disk\/)?/g)

interface Outcome {
  kept: number
  wrong: number
  withControl: number
  outsideWritten: boolean
  code: string
  rerunRight: number
  refetched: number
  error: string
}

async function runOne(tool: DiskTool, c: DiskCase, fast: ImageServer, slow: ImageServer): Promise<Outcome> {
  const server = c.slow ? slow : fast
  const root = await mkdtemp(join(tmpdir(), `disk-${tool.id}-`))
  let mnt: string | undefined
  if (c.disk) {
    mnt = join(root, 'disk')
    await mkdir(mnt)
    const o = `size=${c.disk.size}${c.disk.inodes ? `,nr_inodes=${c.disk.inodes}` : ''}`
    execFileSync('mount', ['-t', 'tmpfs', '-o', o, 'tmpfs', mnt])
  }
  const out = join(mnt ?? root, 'out')
  const outside = join(root, 'outside.txt')
  const ctx: Ctx = { root, out, mnt, outside }
  await writeFile(outside, 'a file outside the folder\n')
  try {
    await mkdir(out, { recursive: true })
    const names = Array.from({ length: COUNT }, (_, i) => `img${i}.jpg`)
    const list = join(root, 'list.txt')
    const config = join(root, 'curl.conf')
    await writeFile(list, `${names.map((n) => server.url(`/d/${n}`)).join('\n')}\n`)
    await writeFile(config, names.map((n) => `url = "${server.url(`/d/${n}`)}"\noutput = "${n}"\n`).join(''))
    const expected = new Map(names.map((n) => [n, digest(server.bytes(`/d/${n}`))]))
    const known = new Set(expected.values())
    await c.before?.(ctx)
    const argv = tool.args({ list, config, out }, false)
    let first: { code: number | null; signal: string | null; stderr: string }
    if (c.twice) {
      const [a, b] = [runChild(argv, c.limits), runChild(argv, c.limits)]
      const [ra, rb] = await Promise.all([a.done, b.done])
      first = {
        code: ra.code || rb.code,
        signal: ra.signal ?? rb.signal,
        stderr: `${ra.stderr}\n${rb.stderr}`,
      }
    } else {
      const run = runChild(argv, c.limits)
      if (c.during || c.kill) {
        const timer = setTimeout(() => {
          if (c.kill) run.child.kill('SIGKILL')
          else void Promise.resolve(c.during!(ctx)).catch(() => {})
        }, STRIKE_MS)
        first = await run.done
        clearTimeout(timer)
      } else first = await run.done
    }
    // Peers keep no journal: theirs is a second run over a whole folder.
    if (c.between && tool.id === 'imgpull') await c.between(ctx)
    // What the first run left, in the folder (or where it went).
    const moved = !(await stat(out).catch(() => undefined))?.isDirectory()
    const left = await keptFiles(moved ? `${out}.moved` : out)
    const kept = new Set<string>()
    let wrong = 0
    let withControl = 0
    for (const [rel, bytes] of left) {
      const d = digest(bytes)
      if (expected.get(rel) === d) kept.add(rel)
      else if (!known.has(d)) {
        wrong++
        if (
          await stat(join(out, `${rel}.aria2`)).then(
            () => true,
            () => false,
          )
        )
          withControl++
      }
    }
    const outsideWritten = (await readFile(outside, 'utf8').catch(() => '')) !== 'a file outside the folder\n'
    // Whole in the folder the rerun writes to (none where it was moved away).
    const whole = moved ? new Set<string>() : kept
    const code =
      first.signal === 'SIGKILL'
        ? c.kill
          ? 'killed'
          : 'killed at the cap'
        : first.signal
          ? `killed by ${first.signal}`
          : `exit ${first.code}`
    // The fault taken away, each tool's own resume.
    await c.lift?.(ctx)
    const rerunFrom = server.log.length
    const again = await runChild(tool.args({ list, config, out }, true), undefined).done
    let refetched = 0
    for (const r of server.log.slice(rerunFrom)) {
      const name = r.url.split('?')[0]!.split('/').at(-1)!
      const range = r.headers.range
      if (whole.has(name) && (range === undefined || /^bytes=0-/.test(range))) refetched++
    }
    // Every image whole after the rerun, at its name or, where its name is taken (a folder, a
    // link), at another one of the tool's.
    const after = new Set([...(await keptFiles(out)).values()].map(digest))
    const rerunRight = [...expected.values()].filter((d) => after.has(d)).length
    return {
      kept: kept.size,
      wrong,
      withControl,
      outsideWritten,
      code,
      rerunRight,
      refetched,
      error:
        errorLine(first.stderr) ||
        // A rerun after a fault of the journal's says what it did of it, exit 0 or not.
        ((again.code || c.imgpullOnly) && errorLine(again.stderr)
          ? `[rerun] ${errorLine(again.stderr)}`
          : ''),
    }
  } finally {
    if (mnt) execFileSync('umount', ['-l', mnt])
    await rm(root, { recursive: true, force: true })
  }
}

async function main() {
  const { only, toolIds } = benchArgs()
  // Three images past the limit on file sizes of its case (100 kB), the others 20 to 40 kB.
  const big = new Map(['img7.jpg', 'img20.jpg', 'img41.jpg'].map((n) => [n, makeImage(n, 150_000)]))
  const [served, slow] = await Promise.all([
    startImageServer({ sizes: [20_000, 40_000], body: (name) => big.get(name) }),
    startImageServer({ sizes: [20_000, 40_000], bandwidth: 30_000 }),
  ])
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const cells: string[] = []
    for (const t of tools) {
      if (c.imgpullOnly && t.id !== 'imgpull') {
        cells.push('as journal-removed (no journal)')
        continue
      }
      const r = await runOne(t, c, served, slow)
      const wrong = r.wrong
        ? `, **${r.wrong} WRONG**${r.withControl ? ` (${r.withControl} beside a .aria2)` : ''}`
        : ''
      cells.push(
        `${r.kept}/${COUNT} kept${wrong}${r.outsideWritten ? ', **WROTE OUTSIDE**' : ''}, ${r.code}; rerun ${r.rerunRight === COUNT ? 'all right' : `**${r.rerunRight}/${COUNT} right**`}${r.refetched ? `, ${r.refetched} whole asked again from byte 0` : ''}${r.error ? `; _${cellText(r.error)}_` : ''}`,
      )
      console.error(`${c.id} ${t.id}: ${JSON.stringify(r)}`)
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  await Promise.all([served.close(), slow.close()])
  printTable(rows, chosen)
}

await main()
