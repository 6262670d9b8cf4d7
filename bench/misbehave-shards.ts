/**
 * Side by side on WebDataset shards read by readers imgpull never ran: each case is a small table
 * (made here) of images from a local server, written with `--output-format webdataset`, and each
 * modelled on a public report named with it: carried columns named like imgpull's own or
 * WebDataset's (`key`, `url`, `status`, `__key__`, `jpg`, `json`...), names with dots, spaces,
 * unicode, none, or twice but for case; NUL, invalid UTF-8, lone surrogates, a 1 MiB caption,
 * nested values, numbers past 2^53, NaN, dates; the same URL twice; one sample a shard and a shard
 * larger than the input; every row failed and one row failed; formats a loader may not expect; the
 * same input twice; a run killed (`kill -9`) mid-shard and run again.
 *
 * The readers: GNU tar (`tar tf`, `tar xf`), bsdtar (Debian's libarchive-tools), Python's `tarfile`
 * with a grouper that follows the WebDataset rule (webdataset's `base_plus_ext`: the key is the
 * name up to its basename's first dot; a sample's files adjacent; a suffix twice in one sample is
 * webdataset's "duplicate file name" error), and for the Parquet hyparquet and DuckDB (its Node
 * client, installed into a temporary prefix at run time, never a dependency). Per case: what
 * imgpull said; each tar reader's members or its error; the grouper's samples and anything it
 * found wrong; each Parquet reader's rows and the carried values (the manifest's `meta`, what imgpull
 * meant) it lost or read otherwise, and the columns it names otherwise.
 *
 *   apt-get install -y libarchive-tools   # optional: without it the bsdtar column says n/a
 *   npm run build && node --import tsx bench/misbehave-shards.ts [--only ID,ID]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parquetReadObjects } from 'hyparquet'
import { OWN_COLUMNS as SHARD_OWN_COLUMNS } from '../src/sinks/webdataset/row.js'
import { BLOCK, paddedSize, TarScan, tarHeader } from '../src/sinks/webdataset/tar.js'
import { benchArgs, noise, printTable, spawnCapped } from './misbehave.js'
import { IMGPULL, ROOT } from './tools.js'

interface ShardCase {
  id: string
  /** The report the case is modelled on. */
  report: string
  /** The input, written into `dir`; `o` is the server's origin. */
  make: (dir: string, o: string) => Promise<void> | void
  /** The input's name in `dir`. */
  input: string
  /** More arguments for imgpull. */
  args?: string[]
  /** Run twice into two folders, and say whether the shards' bytes are the same. */
  twice?: boolean
  /** Killed (`kill -9`) once the server holds the request of a row mid-shard, then run again. */
  kill?: boolean
  /** Run once, then again with these arguments: the second run's folder is read. */
  rerun?: string[]
}

const put = (dir: string, name: string, data: string | Buffer) => writeFile(join(dir, name), data)
const OWN = ['key', 'url', 'status', 'sha256', 'width', '__key__', 'jpg', 'json', 'txt']
const FORMATS = ['bmp', 'tif', 'gif', 'svg', 'avif', 'heic', 'jxl', 'webp', 'png']
const FIXTURE: Record<string, string> = {
  bmp: 'v3.bmp',
  tif: 'little-endian.tif',
  gif: 'animated.gif',
  svg: 'cairo.svg',
  avif: 'plain.avif',
  heic: 'plain-64x64.heic',
  jxl: 'bare.jxl',
  webp: 'lossy.webp',
  png: 'rgba.png',
}

function cases(): ShardCase[] {
  return [
    {
      id: 'own-names',
      report:
        "rom1504/img2dataset#199, rom1504/img2dataset#213 (save_additional_columns: a table's columns carried into the shards; img2dataset's own fields win, silently): carried columns `key`, `url`, `status`, `sha256`, `width`, `__key__`, `jpg`, `json`, `txt`",
      input: 'in.csv',
      make: (d, o) =>
        put(
          d,
          'in.csv',
          `url,${OWN.slice(1).join(',')},key\n${o}/j/1.jpg,u,s,h,w,k,j,js,t,K\n${o}/j/2.jpg,u,s,h,w,k,j,js,t,K\n`,
        ),
    },
    {
      id: 'odd-names',
      report:
        'duckdb/duckdb#13053, mukunku/ParquetViewer#68, trinodb/trino#23050 (Parquet columns named alike but for case): JSON lines keys with a dot, a space, unicode, `""`, and `Tag` beside `tag`',
      input: 'in.jsonl',
      make: (d, o) =>
        put(
          d,
          'in.jsonl',
          [1, 2]
            .map((i) =>
              JSON.stringify({
                url: `${o}/j/${i}.jpg`,
                'a.b': `d${i}`,
                'a b': `s${i}`,
                é: `u${i}`,
                '': `e${i}`,
                Tag: `T${i}`,
                tag: `t${i}`,
              }),
            )
            .join('\n'),
        ),
    },
    {
      id: 'case-csv',
      report:
        'duckdb/duckdb#13053, duckdb/duckdb#15175 ("has duplicate column name" for names alike but for case): a CSV header `url,Note,note`',
      input: 'in.csv',
      make: (d, o) => put(d, 'in.csv', `url,Note,note\n${o}/j/1.jpg,N1,n1\n${o}/j/2.jpg,N2,n2\n`),
    },
    {
      id: 'nul-text',
      report:
        'duckdb/duckdb#5013, duckdb/duckdb#5218 (NUL bytes in strings), duckdb/duckdb#1942 (Parquet strings cut at a NUL): a NUL in a CSV caption and in a column',
      input: 'in.csv',
      args: ['--caption-col', 'caption'],
      make: (d, o) => put(d, 'in.csv', `url,caption,note\n${o}/j/1.jpg,a\u0000b,n\u0000\n${o}/j/2.jpg,c,d\n`),
    },
    {
      id: 'latin1-bytes',
      report:
        'duckdb/duckdb#5013 ("file is not valid UTF8"): bytes 0xFF 0xFE and a cut sequence on the third line',
      input: 'in.csv',
      args: ['--caption-col', 'caption'],
      make: (d, o) =>
        put(
          d,
          'in.csv',
          Buffer.concat([
            Buffer.from(`url,caption,note\n${o}/j/1.jpg,ab,n\n${o}/j/2.jpg,`),
            Buffer.from([0x63, 0xff, 0xfe, 0x64, 0x2c, 0xc3, 0x28, 0x0a]),
          ]),
        ),
    },
    {
      id: 'nul-and-latin1',
      report:
        'duckdb/duckdb#5013 (a NUL, then "not valid UTF8"): a NUL in the first row\'s caption and a Latin-1 byte on the third line',
      input: 'in.csv',
      args: ['--caption-col', 'caption'],
      make: (d, o) =>
        put(
          d,
          'in.csv',
          Buffer.concat([
            Buffer.from(`url,caption,note\n${o}/j/1.jpg,a\u0000b,n\n${o}/j/2.jpg,`),
            Buffer.from([0x63, 0xe9, 0x64, 0x2c, 0x6e, 0x0a]),
          ]),
        ),
    },
    {
      id: 'caption-no-col',
      report:
        "rom1504/img2dataset#244 (captions carried as additional columns), rom1504/img2dataset#199: a table's `caption` column, run without --caption-col",
      input: 'in.csv',
      make: (d, o) => put(d, 'in.csv', `url,caption\n${o}/j/1.jpg,a fox\n${o}/j/2.jpg,a cat\n`),
    },
    {
      id: 'surrogates',
      report:
        'daaain/claude-code-log#139, ThomasKliszowski/json_reindent#12 (JSON-escaped lone surrogates: "surrogates not allowed"): JSON lines with a lone surrogate in a caption and in a column',
      input: 'in.jsonl',
      args: ['--caption-col', 'caption'],
      make: (d, o) =>
        put(
          d,
          'in.jsonl',
          `{"url":"${o}/j/1.jpg","caption":"x\\ud800y","note":"\\udfff"}\n{"url":"${o}/j/2.jpg","caption":"ok","note":"ok"}\n`,
        ),
    },
    {
      id: 'huge-caption',
      report:
        "adaltas/node-csv max_record_size (the tables bench's huge-caption case): a 1 MiB caption, in the .txt, the .json and the Parquet",
      input: 'in.csv',
      args: ['--caption-col', 'caption'],
      make: (d, o) => put(d, 'in.csv', `url,caption\n${o}/j/1.jpg,${'x'.repeat(1 << 20)}\n${o}/j/2.jpg,b\n`),
    },
    {
      id: 'values',
      report:
        'pandas-dev/pandas#33766 (ids past 2^53 changed), duckdb/duckdb#17126 (Parquet strings read as JSON): nested objects and arrays, an id past 2^53, NaN, Infinity, a date, a boolean',
      input: 'in.jsonl',
      make: (d, o) =>
        put(
          d,
          'in.jsonl',
          `{"url":"${o}/j/1.jpg","nested":{"a":[1,{"b":null}]},"arr":[1,2],"id":9007199254740993,"f":NaN,"inf":Infinity,"date":"2024-01-02","flag":true}\n{"url":"${o}/j/2.jpg","nested":{"a":[]},"arr":[],"id":12,"f":1.5,"inf":2.5,"date":"2024-01-03","flag":false}\n`,
        ),
    },
    {
      id: 'dup-urls',
      report:
        'rom1504/img2dataset#244, rom1504/img2dataset#71 (the same URL on several rows, one sample each): the same URL on three rows',
      args: ['--caption-col', 'caption'],
      input: 'in.csv',
      make: (d, o) =>
        put(d, 'in.csv', `url,caption\n${o}/j/1.jpg,a\n${o}/j/1.jpg,b\n${o}/j/2.jpg,c\n${o}/j/1.jpg,d\n`),
    },
    {
      id: 'shard-size-1',
      report: 'rom1504/img2dataset#174 (the shard numbering a loader expects): `--shard-size 1`',
      input: 'in.csv',
      args: ['--shard-size', '1'],
      make: (d, o) => put(d, 'in.csv', `url\n${o}/j/1.jpg\n${o}/j/2.jpg\n${o}/j/3.jpg\n`),
    },
    {
      id: 'shard-over-input',
      report: 'rom1504/img2dataset#174: `--shard-size 100` over 3 rows',
      args: ['--shard-size', '100'],
      input: 'in.csv',
      make: (d, o) => put(d, 'in.csv', `url\n${o}/j/1.jpg\n${o}/j/2.jpg\n${o}/j/3.jpg\n`),
    },
    {
      id: 'all-failed',
      report:
        'webdataset/webdataset#376 (an empty archive among the shards), rom1504/img2dataset#333 (shards whose every URL failed): every row a 404',
      input: 'in.csv',
      make: (d, o) => put(d, 'in.csv', `url\n${o}/404/1.jpg\n${o}/404/2.jpg\n`),
    },
    {
      id: 'one-failed',
      report:
        'rom1504/img2dataset#452, rom1504/img2dataset#395 (failed samples in a shard): one 404 between two images in a shard',
      args: ['--caption-col', 'caption'],
      input: 'in.csv',
      make: (d, o) => put(d, 'in.csv', `url,caption\n${o}/j/1.jpg,a\n${o}/404/2.jpg,b\n${o}/j/3.jpg,c\n`),
    },
    {
      id: 'formats',
      report:
        "webdataset/webdataset#56 (`.tif` not among decode()'s extensions), webdataset/webdataset#215 (more extensions), huggingface/datasets#8557 (`.jxl`): bmp, tif, gif, svg, avif, heic, jxl, webp, png",
      input: 'in.csv',
      args: ['--shard-size', '4'],
      make: (d, o) => put(d, 'in.csv', `url\n${FORMATS.map((f) => `${o}/img/${FIXTURE[f]}`).join('\n')}\n`),
    },
    {
      id: 'retry-fixed',
      report:
        "rom1504/img2dataset#333, rom1504/img2dataset#395 (retrying a shard's failed URLs, written into the existing shards): a 404 that answers on the rerun (`--retry-failed`): its shard sealed again",
      input: 'in.csv',
      args: ['--caption-col', 'caption', '--shard-size', '2'],
      rerun: ['--retry-failed'],
      twice: true,
      make: (d, o) => put(d, 'in.csv', `url,caption\n${o}/j/1.jpg,a\n${o}/flaky/2.jpg,b\n${o}/j/3.jpg,c\n`),
    },
    {
      id: 'twice',
      report:
        'isaacs/node-tar#176, libarchive/libarchive#623 (deterministic tars: order, mtime, owner): the same input, two runs, two folders',
      input: 'in.csv',
      args: ['--caption-col', 'caption', '--shard-size', '2'],
      twice: true,
      make: (d, o) =>
        put(d, 'in.csv', `url,caption,n\n${o}/j/1.jpg,a,1\n${o}/j/2.jpg,b,2\n${o}/j/3.jpg,c,3\n`),
    },
    {
      id: 'kill-9',
      report:
        'webdataset/webdataset#142 ("unexpected end of data" from a corrupted shard), rom1504/img2dataset#140 (a shard without its parquet after a failure): `kill -9` while a shard waits on a row, then the same command',
      input: 'in.csv',
      args: ['--shard-size', '2'],
      kill: true,
      make: (d, o) =>
        put(d, 'in.csv', `url\n${o}/j/1.jpg\n${o}/j/2.jpg\n${o}/j/3.jpg\n${o}/hold/4.jpg\n${o}/j/5.jpg\n`),
    },
  ]
}

/** Python: per tar, what `tarfile` lists, and what a WebDataset grouper makes of it (base_plus_ext's rule). */
const PYTHON = `
import json, re, sys, tarfile
BASE = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")
out = []
for path in sys.argv[1:]:
    r = {'tar': path.rsplit('/', 1)[-1], 'members': 0, 'samples': 0, 'problems': [], 'json': {}}
    try:
        r['members'] = len(tarfile.open(path).getnames())
    except Exception as e:
        r['problems'].append('tarfile: ' + type(e).__name__ + ': ' + str(e)[:60])
    try:
        seen, current = set(), None
        with open(path, 'rb') as f:
            for m in tarfile.open(fileobj=f, mode='r|*'):
                if not m.isreg(): r['problems'].append('not a file: ' + m.name); continue
                g = BASE.match(m.name)
                if not g: r['problems'].append('no key: ' + m.name); continue
                key, ext = g.group(1), g.group(2).lower()
                if current is None or key != current['__key__']:
                    if key in seen: r['problems'].append('key apart: ' + key)
                    seen.add(key); current = {'__key__': key}; r['samples'] += 1
                if ext in current: r['problems'].append('duplicate ' + m.name)
                current[ext] = True
        # the .json of every sample, decoded as webdataset's decoder does (UTF-8, json.loads)
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if m.name.endswith('.json'):
                    try: r['json'][m.name[:-5]] = json.loads(t.extractfile(m).read().decode('utf-8'))
                    except Exception as e: r['problems'].append('json ' + m.name + ': ' + type(e).__name__)
                elif m.name.endswith('.txt'):
                    try: t.extractfile(m).read().decode('utf-8')
                    except Exception as e: r['problems'].append('txt ' + m.name + ': ' + type(e).__name__)
    except Exception as e:
        r['problems'].append('stream: ' + type(e).__name__ + ': ' + str(e)[:60])
    out.append(r)
print(json.dumps(out, ensure_ascii=True))
`

type Py = {
  tar: string
  members: number
  samples: number
  problems: string[]
  json: Record<string, Record<string, unknown>>
}[]

const short = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s)

/** A cell as text, the same for every reader: digits bare, objects compact JSON, NaN null. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/** A tar tool's reading of every tar: `N members` or its first error line. */
function tarTool(cmd: string, tars: string[], scratch: string): string {
  if (!existsSync(`/usr/bin/${cmd}`)) return 'n/a (not installed)'
  let members = 0
  for (const tar of tars) {
    const list = spawnSync(cmd, ['tf', tar], { encoding: 'utf8' })
    if (list.status !== 0)
      return `tf ${tar.split('/').at(-1)} exit ${list.status}: ${short(list.stderr.trim(), 60)}`
    members += list.stdout.split('\n').filter(Boolean).length
    const into = join(scratch, `${cmd}-${tar.split('/').at(-1)}`)
    spawnSync('mkdir', ['-p', into])
    const x = spawnSync(cmd, ['xf', tar, '-C', into], { encoding: 'utf8' })
    if (x.status !== 0) return `xf ${tar.split('/').at(-1)} exit ${x.status}: ${short(x.stderr.trim(), 60)}`
  }
  return `${members} members, tf and xf exit 0`
}

let duck: { run: (sql: string) => Promise<{ names: string[]; rows: unknown[][] }> } | string | undefined

/** DuckDB's Node client, installed once into a temporary prefix (never a dependency). */
async function duckdb() {
  if (duck !== undefined) return duck
  // The project's own (a devDependency of the tests), else one installed for this bench alone.
  const own = join(ROOT, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js')
  const prefix = existsSync(own) ? ROOT : join(tmpdir(), 'misbehave-shards-duckdb')
  const entry = join(prefix, 'node_modules', '@duckdb', 'node-api', 'lib', 'index.js')
  if (!existsSync(entry)) {
    const r = spawnSync('npm', ['install', '--no-save', '--prefix', prefix, '@duckdb/node-api'], {
      encoding: 'utf8',
    })
    if (r.status !== 0) {
      duck = `n/a (npm install @duckdb/node-api: exit ${r.status})`
      return duck
    }
  }
  const api = await import(pathToFileURL(entry).href)
  const db = await api.DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  const version = JSON.parse(
    await readFile(join(prefix, 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8'),
  ).version
  console.error(`DuckDB node-api ${version}`)
  duck = {
    run: async (sql: string) => {
      const r = await conn.runAndReadAll(sql)
      return { names: r.columnNames() as string[], rows: r.getRowsJson() as unknown[][] }
    },
  }
  return duck
}

type Table = { names: string[]; rows: Record<string, unknown>[] } | { error: string }

async function hyparquetRead(files: string[]): Promise<Table | string> {
  if (files.length === 0) return 'no Parquet'
  try {
    const rows: Record<string, unknown>[] = []
    let names: string[] = []
    for (const file of files) {
      const b = await readFile(file)
      const got = await parquetReadObjects({
        file: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer,
      })
      if (got[0]) names = Object.keys(got[0])
      rows.push(...got)
    }
    return { names, rows }
  } catch (e) {
    return { error: (e as Error).message }
  }
}

async function duckRead(files: string[]): Promise<Table | string> {
  if (files.length === 0) return 'no Parquet'
  const d = await duckdb()
  if (typeof d === 'string') return d
  try {
    const list = files.map((f) => `'${f}'`).join(',')
    const { names, rows } = await d.run(`SELECT * FROM read_parquet([${list}], union_by_name = true)`)
    return { names, rows: rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]]))) }
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! }
  }
}

/** imgpull's own columns of a shard's Parquet row (a carried column under one of these names is left out). */
const OWN_COLUMNS = new Set<string>(SHARD_OWN_COLUMNS)

/** What a Parquet reader read beside what imgpull meant (the manifest's rows, by key). */
function parquetCell(
  t: Table | string,
  meant: Map<string, Record<string, unknown>>,
  captions: Map<string, unknown>,
): string {
  if (typeof t === 'string') return t
  if ('error' in t) return `stops: ${short(t.error, 80)}`
  const diffs: string[] = []
  const extra = t.names.filter(
    (n) => !OWN_COLUMNS.has(n) && ![...meant.values()].some((m) => Object.hasOwn(m, n)),
  )
  if (extra.length) diffs.push(`columns named ${extra.map((n) => JSON.stringify(n)).join(', ')}`)
  for (const row of t.rows) {
    const key = String(row.key)
    const meta = meant.get(key)
    if (!meta) {
      diffs.push(`row ${key} not meant`)
      continue
    }
    if (captions.has(key) && asText(row.caption) !== (asText(captions.get(key)) || null))
      diffs.push(`${key} caption: ${JSON.stringify(short(asText(row.caption) ?? 'null', 16))}`)
    const folded = new Set<string>()
    for (const [name, value] of Object.entries(meta)) {
      // Left out, as documented and said: named as an own column, or as an earlier one, but for
      // case, or named "".
      if (name === '' || OWN_COLUMNS.has(name.toLowerCase()) || folded.has(name.toLowerCase())) continue
      folded.add(name.toLowerCase())
      if (!t.names.includes(name)) diffs.push(`${key} lost ${JSON.stringify(name)}`)
      else if (asText(row[name]) !== asText(value))
        diffs.push(
          `${key} ${JSON.stringify(name)}: ${JSON.stringify(short(asText(row[name]) ?? 'null', 16))} for ${JSON.stringify(short(asText(value) ?? 'null', 16))}`,
        )
    }
  }
  const uniq = [...new Set(diffs)]
  return `${t.rows.length} rows, ${t.names.length} columns; ${uniq.length ? uniq.slice(0, 3).join('; ') + (uniq.length > 3 ? ` (+${uniq.length - 3})` : '') : 'as meant'}`
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12)

async function outputs(out: string) {
  const names = (await readdir(out).catch(() => [] as string[])).sort()
  return {
    tars: names.filter((n) => n.endsWith('.tar')).map((n) => join(out, n)),
    parquets: names.filter((n) => n.endsWith('.parquet')).map((n) => join(out, n)),
  }
}

async function fingerprint(out: string): Promise<string> {
  const { tars, parquets } = await outputs(out)
  const parts: string[] = []
  for (const f of [...tars, ...parquets]) parts.push(`${f.split('/').at(-1)}=${sha(await readFile(f))}`)
  return parts.join(' ')
}

async function runCase(c: ShardCase, images: Record<string, Buffer>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `misbehave-shards-${c.id}-`))
  let hold = c.kill === true
  let onHold: (() => void) | undefined
  const flaked = new Set<string>()
  const server = createServer((req, res) => {
    const [, kind, name] = (req.url ?? '/').split('?')[0]!.split('/')
    if (kind === '404') return res.writeHead(404).end('not here')
    // A 404 the first time a path is asked for, the image after.
    if (kind === 'flaky' && !flaked.has(name!)) {
      flaked.add(name!)
      return res.writeHead(404).end('not yet')
    }
    if (kind === 'hold' && hold) {
      onHold?.()
      return // never answered: the shard waits on this row
    }
    const body = kind === 'img' ? images[name!] : images.jpg
    if (!body) return res.writeHead(404).end()
    res.writeHead(200, { 'Content-Length': String(body.length) }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const dir = join(root, 'in')
  await mkdir(dir, { recursive: true })
  await c.make(dir, origin)
  const out = join(root, 'out')
  const argv = (o: string) => [
    IMGPULL,
    join(dir, c.input),
    '-o',
    o,
    '--output-format',
    'webdataset',
    ...(c.args ?? []),
  ]
  let note = ''
  if (c.kill) {
    // The first run is killed once the held row's request is in: shard 0 sealed, shard 1 waiting.
    const child = spawn(process.execPath, argv(out), { stdio: 'ignore' })
    await new Promise<void>((resolve) => {
      onHold = resolve
    })
    await new Promise((r) => setTimeout(r, 300))
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const left = (await readdir(out)).filter((n) => /\.(tar|parquet)$/.test(n))
    hold = false
    server.closeAllConnections()
    note = `killed with ${left.join(', ') || 'nothing'} in the folder; `
  }
  if (c.rerun) {
    const before = await spawnCapped(process.execPath, argv(out), 120_000, dir)
    note = `first run exit ${before.code}, rerun ${c.rerun.join(' ')}: `
  }
  const first = await spawnCapped(process.execPath, [...argv(out), ...(c.rerun ?? [])], 120_000, dir)
  if (c.twice || c.kill) {
    const again = join(root, 'again')
    await spawnCapped(process.execPath, argv(again), 120_000, dir)
    const [a, b] = [await fingerprint(out), await fingerprint(again)]
    note += a === b ? 'bytes as a fresh run; ' : `BYTES DIFFER from a fresh run: ${a} / ${b}; `
  }
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { status: string; path: string | null; meta?: Record<string, unknown> })
  const { tars, parquets } = await outputs(out)
  const scratch = join(root, 'x')
  const gnu = tarTool('tar', tars, scratch)
  const bsd = tarTool('bsdtar', tars, scratch)
  let py: Py | string
  try {
    py = JSON.parse(
      execFileSync('python3', ['-c', PYTHON, ...tars], { encoding: 'utf8', maxBuffer: 1 << 28 }),
    ) as Py
  } catch (e) {
    py = `python3 failed: ${short((e as Error).message, 60)}`
  }
  // What imgpull meant, by key: the manifest's meta; its captions from the input as the .json says.
  const meant = new Map<string, Record<string, unknown>>()
  const captions = new Map<string, unknown>()
  const { rows: hy } = (await hyparquetRead(parquets)) as { rows?: Record<string, unknown>[] }
  manifest.forEach((m, i) => {
    const key = m.path?.match(/\/(\d+)\./)?.[1] ?? (hy?.[i]?.key as string | undefined) ?? String(i)
    meant.set(key, m.meta ?? {})
  })
  let grouper: string
  if (typeof py === 'string') grouper = py
  else {
    const problems = py.flatMap((t) => t.problems.map((p) => `${t.tar}: ${p}`))
    const samples = py.reduce((n, t) => n + t.samples, 0)
    const members = py.reduce((n, t) => n + t.members, 0)
    // Each sample's .json beside what imgpull meant: every carried column not an own name.
    for (const t of py)
      for (const [key, json] of Object.entries(t.json)) {
        captions.set(key, json.caption)
        for (const [name, value] of Object.entries(meant.get(key) ?? {})) {
          if (OWN_COLUMNS.has(name)) continue
          if (!Object.hasOwn(json, name)) problems.push(`${key}.json lost ${JSON.stringify(name)}`)
          else if (asText(json[name]) !== asText(value))
            problems.push(
              `${key}.json ${JSON.stringify(name)}: ${JSON.stringify(short(asText(json[name]) ?? 'null', 16))}`,
            )
        }
      }
    const exts = [...new Set(py.flatMap((t) => Object.keys(t.json)))].length
    grouper = `${members} members, ${samples} samples (${exts} with .json); ${problems.length ? problems.slice(0, 3).join('; ') + (problems.length > 3 ? ` (+${problems.length - 3})` : '') : 'no fault'}`
  }
  const hyCell = parquetCell(await hyparquetRead(parquets), meant, captions)
  const duckCell = parquetCell(await duckRead(parquets), meant, captions)
  await rm(root, { recursive: true, force: true })
  const said = first.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/img\/s|Details:|^Failures:/.test(l))
    .map((l) => l.replaceAll(origin, 'http://h').replaceAll(`${dir}/`, ''))
  const ok = manifest.filter((m) => m.status !== 'failed').length
  const mine = `${note}${tars.length} tars, ${ok} of ${manifest.length} rows in them${first.code ? `, exit ${first.code}` : ''}${said.length ? `; _${short(said[0]!, 80)}_` : ''}`
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ')
  return `| ${c.id} | ${esc(mine)} | ${esc(gnu)} | ${esc(bsd)} | ${esc(grouper)} | ${esc(hyCell)} | ${esc(duckCell)} |`
}

/**
 * An image past 8 GiB is too big to fetch here, but not its tar header: the writer's own header of
 * a 9 GiB member (its size base-256, as GNU tar writes it, past the 11 octal digits of ustar), in a
 * sparse file, read by each reader. Its size as each reads it, or its error.
 */
async function bigHeaderRow(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'misbehave-shards-big-'))
  const path = join(root, '00000.tar')
  const size = 9 * 2 ** 30 + 5
  const end = BLOCK + paddedSize(size)
  const fd = openSync(path, 'w')
  writeSync(fd, tarHeader('000000000.jpg', size))
  writeSync(fd, tarHeader('000000000.json', 2), 0, BLOCK, end)
  writeSync(fd, Buffer.from('{}'), 0, 2, end + BLOCK)
  ftruncateSync(fd, end + 2 * BLOCK + 2 * BLOCK)
  closeSync(fd)
  const sizeOf = (cmd: string) => {
    if (!existsSync(`/usr/bin/${cmd}`)) return 'n/a (not installed)'
    const r = spawnSync(cmd, ['tvf', path], { encoding: 'utf8' })
    const jpg = r.stdout.split('\n').find((l) => l.includes('.jpg')) ?? ''
    return r.status === 0
      ? `exit 0, .jpg of ${jpg.match(/\s(\d{6,})\s/)?.[1]} bytes`
      : `exit ${r.status}: ${short(r.stderr.trim(), 60)}`
  }
  const py = spawnSync(
    'python3',
    [
      '-c',
      'import sys, tarfile; print([(m.name, m.size) for m in tarfile.open(fileobj=open(sys.argv[1], "rb"), mode="r|*")])',
      path,
    ],
    { encoding: 'utf8' },
  )
  const scan = new TarScan(path)
  const found = scan.find('000000000.json')
  scan.close()
  const [gnu, bsd] = [sizeOf('tar'), sizeOf('bsdtar')]
  await rm(root, { recursive: true, force: true })
  const mine = `writer's header of a ${size}-byte member (base-256 size); TarScan finds the .json after it: ${found ? 'yes' : 'NO'}`
  const tarfileCell =
    py.status === 0
      ? py.stdout.trim()
      : `exit ${py.status}: ${short(py.stderr.trim().split('\n').at(-1) ?? '', 60)}`
  return `| 9gib-header | ${mine} | ${gnu} | ${bsd} | ${tarfileCell} | — | — |`
}

async function main() {
  const { only } = benchArgs()
  const all = cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const images: Record<string, Buffer> = { jpg: await noise(64, 48).jpeg().toBuffer() }
  for (const name of Object.values(FIXTURE))
    images[name] = await readFile(join(ROOT, 'test', 'fixtures', 'images', name))
  const rows = [
    '| case | imgpull | GNU tar | bsdtar | tarfile + WebDataset grouper | hyparquet | DuckDB |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const c of chosen) rows.push(await runCase(c, images))
  const big = {
    id: '9gib-header',
    report:
      'dotnet/runtime#76563, isaacs/node-tar#188, mafintosh/tar-stream#75, halostatue/minitar#152 (members past 8 GiB: base-256 or pax sizes): a member of 9 GiB',
  }
  if (!only || only.includes(big.id)) rows.push(await bigHeaderRow())
  printTable(rows, [...chosen, ...(!only || only.includes(big.id) ? [big] : [])])
}

await main()
