/**
 * Side by side on tables as users have them: each case is a small CSV, TSV, JSON lines or Parquet
 * file (or a folder of them) as Excel, pandas, Spark, a shell or a crash leaves it, each modelled on
 * a public report named with it: Excel's `sep=;` line and byte order mark, `;` in European locales,
 * CRLF inside quoted cells, UTF-16 with tabs, URL cells with spaces, `URL` for `url`, a column named
 * twice, rows with more or fewer cells, empty last lines, a 1 MB caption, NUL bytes; JSON lines
 * with a BOM, blank lines, a last line without newline, lines that are no object, ids past 2^53,
 * NaN; Parquet with nulls, ids past 2^53 and NaN in two row groups, an empty one, one named
 * `.parq` in a folder; a gzip file under a plain name, a `.csv.zst`, a folder with hidden files.
 *
 * imgpull reads each (`INPUT -o OUT --output-format webdataset`) against a local server that
 * answers every path with a JPEG, then runs again over the same folder. The reference is Python's
 * own modules read as pandas reads (`csv.reader` over `utf-8-sig` or UTF-16 by the mark, `sep=` and
 * a `;` header as Excel reads them, a name given twice as `note.1`, a record with more fields than
 * the header stopping the read as pandas' C parser does; `json.loads` a non-blank line), since pandas and
 * pyarrow are not installed here: Parquet cases have no reference. Prints per case imgpull's rows
 * (manifest lines), URLs fetched, what the rerun asked again, carried values that differ from
 * Python's (as text: an int as its digits, a float as `repr`, NaN as null), and the line it said.
 *
 *   npm run build && node --import tsx bench/misbehave-tables.ts [--only ID,ID]
 */
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { parquetWriteFile } from 'hyparquet-writer'
import { benchArgs, noise, printTable, spawnCapped } from './misbehave.js'
import { IMGPULL } from './tools.js'

interface TableCase {
  id: string
  /** The report this table is modelled on. */
  report: string
  /** The input given to imgpull, relative to the case's folder. */
  input: string
  /** Writes the case's files into `dir`, its URLs under `origin`. */
  make: (dir: string, origin: string) => Promise<void>
}

const put = (dir: string, name: string, data: string | Buffer) =>
  mkdir(join(dir, name, '..'), { recursive: true }).then(() => writeFile(join(dir, name), data))
const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])

function cases(): TableCase[] {
  return [
    {
      id: 'excel-sep-bom',
      report:
        "mechatroner/vscode_rainbow_csv#108, shenwei356/csvtk#13 (Excel's `sep=;` first line): with its UTF-8 BOM, CRLF, and a CRLF inside a quoted caption",
      input: 'photos.csv',
      make: (d, o) =>
        put(
          d,
          'photos.csv',
          `\ufeffsep=;\r\nurl;caption\r\n${o}/a.jpg;"line one\r\nline two"\r\n${o}/b.jpg;b\r\n`,
        ),
    },
    {
      id: 'semicolon-locale',
      report:
        'JetBrains-Research/jbr#140, Aternus/csv-to-xlsx#6 (Excel writes `;` where the decimal separator is a comma): `url;caption;score` with `0,5`',
      input: 'photos.csv',
      make: (d, o) =>
        put(d, 'photos.csv', `url;caption;score\n${o}/a.jpg;a fox;0,5\n${o}/b.jpg;"x; y";1,25\n`),
    },
    {
      id: 'bom-header',
      report:
        "UKGovernmentBEIS/inspect_ai#301, ckan/ckan#2463 (the BOM kept in the first column's name, `\\ufeffurl`): Excel's CSV UTF-8 with a quoted header",
      input: 'photos.csv',
      make: (d, o) => put(d, 'photos.csv', `\ufeff"url","caption"\r\n${o}/a.jpg,a\r\n${o}/b.jpg,b\r\n`),
    },
    {
      id: 'utf16-tabs',
      report:
        'pandas-dev/pandas#17615 neighbours; Excel\'s "Unicode Text" save: UTF-16LE with its mark, tabs, CRLF (named .tsv)',
      input: 'photos.tsv',
      make: (d, o) => put(d, 'photos.tsv', utf16(`url\tcaption\r\n${o}/a.jpg\tcafé\r\n${o}/b.jpg\tb\r\n`)),
    },
    {
      id: 'url-spaces',
      report:
        'rom1504/img2dataset#431 (URLs with spaces and commas in a CSV): a URL cell with spaces around it, one quoted after a space, one with a trailing tab',
      input: 'photos.csv',
      make: (d, o) =>
        put(d, 'photos.csv', `url,caption\n  ${o}/a.jpg  ,a\n${o}/b.jpg, "quoted"\n${o}/c.jpg\t,c\n`),
    },
    {
      id: 'upper-url',
      report:
        "LAION's parquet/CSV columns `URL` and `TEXT` (img2dataset's laion400m example gives `--url_col URL`): no `url` column",
      input: 'laion.csv',
      make: (d, o) => put(d, 'laion.csv', `URL,TEXT\n${o}/a.jpg,a\n`),
    },
    {
      id: 'dup-columns',
      report: 'pandas-dev/pandas#14704, pandas-dev/pandas#7160 (duplicated names read as `note`, `note.1`)',
      input: 'photos.csv',
      make: (d, o) => put(d, 'photos.csv', `url,note,note\n${o}/a.jpg,first,second\n`),
    },
    {
      id: 'ragged-rows',
      report:
        'adaltas/node-csv#406, adaltas/node-csv-parse#274 (Invalid Record Length: a row with more, and one with fewer, cells than the header)',
      input: 'photos.csv',
      make: (d, o) =>
        put(d, 'photos.csv', `url,caption,license\n${o}/a.jpg,a,cc0,extra\n${o}/b.jpg\n${o}/c.jpg,c,cc0\n`),
    },
    {
      id: 'empty-last-lines',
      report:
        'adaltas/node-csv#275 (empty records counted or not): blank lines between rows and at the end, the last row without its newline before them',
      input: 'photos.csv',
      make: (d, o) => put(d, 'photos.csv', `url,caption\n${o}/a.jpg,a\n\n${o}/b.jpg,b\n\n\n`),
    },
    {
      id: 'huge-caption',
      report:
        'adaltas/node-csv (max_record_size) and a 1 MB alt text scraped whole: one caption cell of 1 MiB',
      input: 'photos.csv',
      make: (d, o) =>
        put(d, 'photos.csv', `url,caption\n${o}/a.jpg,"${'x'.repeat(1 << 20)}"\n${o}/b.jpg,b\n`),
    },
    {
      id: 'nul-bytes',
      report:
        'facebook/ThreatExchange#298, pandas-dev/pandas#13859 (`_csv.Error: line contains NUL`): a NUL inside a caption',
      input: 'photos.csv',
      make: (d, o) => put(d, 'photos.csv', `url,caption\n${o}/a.jpg,x\u0000y\n${o}/b.jpg,b\n`),
    },
    {
      id: 'jsonl-untidy',
      report:
        'pandas-dev/pandas#17615, microsoft/graphrag#2424 (blank lines), wbolster/jsonlines#30: a BOM, CRLF, blank lines, an array line, a number URL, a last line without newline',
      input: 'rows.jsonl',
      make: (d, o) =>
        put(
          d,
          'rows.jsonl',
          `\ufeff{"url":"${o}/a.jpg","n":1}\r\n\r\n{"url":"${o}/b.jpg","n":2}\r\n[1,2]\r\n{"url":12}\r\n{"url":"${o}/c.jpg","n":3}`,
        ),
    },
    {
      id: 'jsonl-big-ids',
      report:
        'pandas-dev/pandas#33766, pandas-dev/pandas#40992 (ids past 2^53 changed), jeroen/jsonlite#405: ids past 2^53 at the top and nested, NaN and Infinity as Python writes them',
      input: 'rows.jsonl',
      make: (d, o) =>
        put(
          d,
          'rows.jsonl',
          `{"url":"${o}/a.jpg","id":1344800117571260417,"meta":{"tweet":1573334441849667584,"tags":["a"]},"score":NaN}\n{"url":"${o}/b.jpg","id":-9223372036854775808,"meta":null,"score":Infinity}\n`,
        ),
    },
    {
      id: 'parquet-nulls',
      report:
        'pandas-dev/pandas#33766 for Parquet (INT64 past 2^53), a nullable Int64 and float NaN, as pandas writes them: two row groups, a null URL',
      input: 'rows.parquet',
      make: async (d, o) => {
        await mkdir(d, { recursive: true })
        parquetWriteFile({
          filename: join(d, 'rows.parquet'),
          rowGroupSize: 2,
          columnData: [
            { name: 'url', data: [`${o}/a.jpg`, null, `${o}/c.jpg`, `${o}/d.jpg`], type: 'STRING' },
            { name: 'id', data: [1n, null, 9007199254740993n, -9223372036854775808n], type: 'INT64' },
            { name: 'score', data: [0.1, Number.NaN, 0.5, -0], type: 'DOUBLE' },
          ],
        })
      },
    },
    {
      id: 'parquet-empty',
      report:
        'apache/arrow (an empty DataFrame to_parquet: a file of no rows) beside one with rows, in a folder',
      input: 'data',
      make: async (d, o) => {
        await mkdir(join(d, 'data'), { recursive: true })
        parquetWriteFile({
          filename: join(d, 'data', 'part-0.parquet'),
          columnData: [{ name: 'url', data: [], type: 'STRING' }],
        })
        parquetWriteFile({
          filename: join(d, 'data', 'part-1.parquet'),
          columnData: [{ name: 'url', data: [`${o}/a.jpg`], type: 'STRING' }],
        })
      },
    },
    {
      id: 'parquet-parq',
      report:
        "apache/arrow#1340 (ARROW-1830: Parquet files not named .parquet), dask/dask#8274 (`.parq` read by default), nevi-me/rust-dataframe#40 (Hive's files have no extension): a folder of a .csv and a .parq",
      input: 'data',
      make: async (d, o) => {
        await put(d, 'data/a.csv', `url\n${o}/a.jpg\n`)
        parquetWriteFile({
          filename: join(d, 'data', 'b.parq'),
          columnData: [{ name: 'url', data: [`${o}/b.jpg`, `${o}/c.jpg`], type: 'STRING' }],
        })
      },
    },
    {
      id: 'json-beside',
      report:
        "microsoft/graphrag#2424 family (a reader that skips a whole file, saying nothing); Spark's df.write.json and `jq -c > extra.json` name JSON lines .json: one beside a folder's .csv",
      input: 'data',
      make: async (d, o) => {
        await put(d, 'data/a.csv', `url\n${o}/a.jpg\n`)
        await put(d, 'data/extra.json', `{"url":"${o}/b.jpg"}\n{"url":"${o}/c.jpg"}\n`)
      },
    },
    {
      id: 'gzip-plain-name',
      report:
        'a browser that kept a `.csv.gz` as `photos.csv` still compressed (huggingface/datasets#4077 family)',
      input: 'photos.csv',
      make: (d, o) => put(d, 'photos.csv', gzipSync(`url,caption\n${o}/a.jpg,a\n${o}/b.jpg,b\n`)),
    },
    {
      id: 'csv-zst',
      report:
        "pandas' `to_csv('photos.csv.zst')` (compression from the name): zstd, which imgpull does not read",
      input: 'photos.csv.zst',
      make: (d) => put(d, 'photos.csv.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])),
    },
    {
      id: 'folder-hidden',
      report:
        "dask/dask#8180 (Spark's `_SUCCESS` read as data): a folder with `.DS_Store`, `_SUCCESS`, a README and two tables",
      input: 'data',
      make: async (d, o) => {
        await put(d, 'data/.DS_Store', Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]))
        await put(d, 'data/_SUCCESS', '')
        await put(d, 'data/README.md', '# photos\n')
        await put(d, 'data/part-0.csv', `url\n${o}/a.jpg\n`)
        await put(d, 'data/part-1.jsonl', `{"url":"${o}/b.jpg"}\n`)
      },
    },
  ]
}

/** Python's reading of a case's input: rows, URLs that look fetchable, carried values as text. */
const PYTHON = String.raw`
import csv, json, math, os, sys
def norm(v):
    if hasattr(v, 'item') and not isinstance(v, (list, dict)): v = v.item()
    if v is None: return None
    if isinstance(v, bool): return 'true' if v else 'false'
    if isinstance(v, int): return str(v)
    if isinstance(v, float):
        if not math.isfinite(v): return None
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str): return v
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False)
def text(path):
    raw = open(path, 'rb').read()
    if raw[:2] in (b'\xff\xfe', b'\xfe\xff'): return raw.decode('utf-16')
    return raw.decode('utf-8-sig')
def read_pandas(path, rows):
    import pandas as pd
    name = os.path.basename(path)
    if name.startswith(('.', '_')): return
    enc = 'utf-16' if open(path, 'rb').read(2) in (b'\xff\xfe', b'\xfe\xff') else 'utf-8-sig'
    if name.endswith(('.csv', '.tsv')):
        first = open(path, 'rb').readline().decode(enc, 'replace').strip()
        sep = '\t' if name.endswith('.tsv') else ','
        skip = 0
        if first.startswith('sep='): sep = first[4:]; skip = 1
        elif sep == ',' and ';' in first and ',' not in first: sep = ';'
        df = pd.read_csv(path, sep=sep, skiprows=skip, encoding=enc)
    elif name.endswith('.jsonl'): df = pd.read_json(path, lines=True, encoding=enc)
    elif name.endswith('.parquet') or name.endswith('.parq'): raise SystemExit('no pyarrow here')
    elif not folder: raise SystemExit('not read by pandas')
    else: return
    rows.extend(df.to_dict('records'))
def read(path, rows):
    if mode == 'pandas': return read_pandas(path, rows)
    name = os.path.basename(path)
    if name.startswith(('.', '_')): return
    if name.endswith(('.csv', '.tsv')):
        t = text(path).splitlines(keepends=True)
        sep = '\t' if name.endswith('.tsv') else ','
        if t and t[0].strip().startswith('sep='): sep = t[0].strip()[4:]; t = t[1:]
        elif sep == ',' and t and ';' in t[0] and ',' not in t[0]: sep = ';'
        reader = csv.reader(t, delimiter=sep)
        names, seen = [], {}
        for n in next(reader, []):
            k = n
            while k in seen: seen[n] += 1; k = n + '.' + str(seen[n])
            seen.setdefault(k, 0); names.append(k)
        for cells in reader:
            if not cells: continue
            if len(cells) > len(names): raise ValueError('Expected %d fields, saw %d' % (len(names), len(cells)))
            rows.append(dict(zip(names, cells + [None] * (len(names) - len(cells)))))
    elif name.endswith('.jsonl'):
        for line in text(path).splitlines():
            if not line.strip(): continue
            try: v = json.loads(line)
            except ValueError: rows.append({'?': 'not JSON'}); continue
            rows.append(v if isinstance(v, dict) else {'?': 'not an object'})
    elif name.endswith('.parquet') or name.endswith('.parq'): raise SystemExit('no pyarrow here')
    elif not folder: raise SystemExit('not read by csv or json')
p, mode = sys.argv[1], sys.argv[2]
folder = os.path.isdir(p)
rows = []
try:
    for f in (sorted(os.path.join(p, n) for n in os.listdir(p)) if folder else [p]): read(f, rows)
except SystemExit as e: print(json.dumps({'na': str(e)})); sys.exit()
except Exception as e: print(json.dumps({'error': type(e).__name__ + ': ' + str(e)[:80]})); sys.exit()
out = []
for r in rows:
    url = r.get('url')
    out.append({'url': url if isinstance(url, str) else None, 'meta': {k: norm(v) for k, v in r.items() if k != 'url' and k is not None}})
print(json.dumps(out))
`

type Reference =
  | { url: string | null; meta: Record<string, string | null> }[]
  | { error: string }
  | { na: string }
  | null

/** The reference's reading: `stdlib` (any python3) or `pandas` (Debian's, /usr/bin/python3). */
function reference(input: string, mode: 'stdlib' | 'pandas'): Reference {
  const python = mode === 'pandas' ? '/usr/bin/python3' : 'python3'
  try {
    return JSON.parse(
      execFileSync(python, ['-c', PYTHON, input, mode], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    )
  } catch {
    return null
  }
}

/** imgpull's carried value as Python's reading shows it: digits bare, objects as compact JSON. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'boolean' || typeof value === 'number') return String(value)
  return JSON.stringify(value).replace(/"(-?\d{16,})"/g, '$1')
}

const short = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s)

/** A reference's reading beside imgpull's manifest rows: what it read, and the carried values that differ. */
function compare(ref: Reference, rows: { meta?: Record<string, unknown> }[]) {
  let theirs: string
  let differ = '—'
  if (ref === null) theirs = 'n/a (python3 failed)'
  else if ('na' in ref) theirs = `n/a (${ref.na})`
  else if ('error' in ref) theirs = `stops: ${short(ref.error, 70)}`
  else {
    const urls = ref.filter((r) => r.url && /^\s*https?:\/\//i.test(r.url)).length
    theirs = `${ref.length} rows, ${urls} URLs`
    if (rows.length > 0) {
      const diffs: string[] = []
      ref.forEach((r, i) => {
        const meta = rows[i]?.meta ?? {}
        for (const [key, value] of Object.entries(r.meta)) {
          const got = asText(meta[key])
          if ((got ?? '') !== (value ?? '') && key !== '?')
            diffs.push(
              `row ${i} ${short(key, 12)}: ${JSON.stringify(short(got ?? 'null', 24))} for ${JSON.stringify(short(value ?? 'null', 24))}`,
            )
        }
      })
      differ = diffs.length
        ? diffs.slice(0, 3).join('; ') + (diffs.length > 3 ? ` (+${diffs.length - 3})` : '')
        : 'none'
    }
  }
  return { theirs, differ }
}

async function runCase(c: TableCase): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `misbehave-tables-${c.id}-`))
  let requests = 0
  const jpeg = await noise(64, 48).jpeg().toBuffer()
  const server = createServer((_req, res) => {
    requests++
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(jpeg.length) }).end(jpeg)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const dir = join(root, 'in')
  await mkdir(dir, { recursive: true })
  await c.make(dir, origin)
  const out = join(root, 'out')
  const input = join(dir, c.input)
  const run = () =>
    spawnCapped(process.execPath, [IMGPULL, input, '-o', out, '--output-format', 'webdataset'], 60_000, dir)
  const first = await run()
  const fetched = requests
  const manifest = await readFile(join(out, 'manifest.jsonl'), 'utf8').catch(() => '')
  await run()
  const rerun = requests - fetched
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  const rows = manifest
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { url: string; meta?: Record<string, unknown> })
  const [stdlib, pandas] = [
    compare(reference(input, 'stdlib'), rows),
    compare(reference(input, 'pandas'), rows),
  ]
  await rm(root, { recursive: true, force: true })
  const said = first.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/img\/s|Details:/.test(l))
    .map((l) => l.replaceAll(origin, 'http://h').replaceAll(`${dir}/`, ''))
  // The first line that is not the warning every case's `caption` column gives without
  // --caption-col (see bench/README.md "Shards read by other readers"): what the case itself drew.
  const drawn = said.find((l) => !/^imgpull: warning: the table's column caption\b/.test(l))
  const line = drawn ? `; _${short(drawn.replaceAll('|', '\\|'), 110)}_` : ''
  const exit = first.code === 0 ? '' : `, exit ${first.code}`
  const mine = `${rows.length} rows, ${fetched} fetched${exit}; rerun ${rerun}${line}`
  const cell = (x: { theirs: string; differ: string }) =>
    `${x.theirs}; differ: ${x.differ.replaceAll('|', '\\|')}`
  return `| ${c.id} | ${mine} | ${cell(stdlib)} | ${cell(pandas)} |`
}

async function main() {
  const { only } = benchArgs()
  const all = cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const rows = ['| case | imgpull | Python csv / json | pandas 1.5.3 |', '|---|---|---|---|']
  for (const c of chosen) rows.push(await runCase(c))
  printTable(rows, chosen)
}

await main()
