import assert from 'node:assert/strict'
import { copyFile, open, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { setJournalAside } from '../src/run/start.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// A journal a disk or a hand damaged between two runs (plexidev/quick.db#218, brave/brave-browser
// #38046: a database cut short; sierra-db/sierradb#13; mattn/go-sqlite3#969): the rerun stopped,
// exit 3, `move .imgpull/ away to start this folder afresh`, which lost the folder's lock and
// record files with it, and the damaged journal too where the user deleted it.

let dir: string
let server: ImageServer
const names = Array.from({ length: 40 }, (_, i) => `d${i}.jpg`)

before(async () => {
  dir = await tempDir()
  server = await startImageServer()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** A folder of 40 images pulled whole; its journal then damaged by `damage`. */
async function damagedFolder(id: string, damage: (journal: string) => Promise<void>) {
  const out = join(dir, id)
  const list = join(dir, `${id}.txt`)
  await writeFile(list, `${names.map((n) => server.url(`/${id}/${n}`)).join('\n')}\n`)
  const args = [list, '-o', out, '--no-report']
  const first = await runCli(args)
  assert.equal(first.code, 0, first.stderr)
  const journal = join(out, '.imgpull', 'journal.db')
  await damage(journal)
  const damaged = await readFile(journal)
  return { out, args, journal, damaged }
}

for (const [id, how, damage] of [
  ['cut', 'cut to 4 KiB', (j: string) => truncate(j, 4096)],
  ['text', 'replaced by a text file', (j: string) => writeFile(j, 'not a database\n')],
  [
    'zeroed',
    'its schema page zeroed',
    async (j: string) => {
      const fh = await open(j, 'r+')
      await fh.write(Buffer.alloc(4096), 0, 4096, 0)
      await fh.close()
    },
  ],
] as const) {
  test(`a journal ${how}: kept aside under a dated name, said in one line, and the rerun goes on with a new one`, async () => {
    const { out, args, journal, damaged } = await damagedFolder(id, damage)
    const sent = server.log.length
    const rerun = await runCli(args)
    assert.equal(rerun.code, 0, rerun.stderr)
    const line =
      /^imgpull: warning: the journal \S+ is damaged \((.*)\): kept as (\S+), and a new one begun; .*$/m.exec(
        rerun.stderr,
      )
    assert.ok(line, rerun.stderr)
    assert.equal(rerun.stderr.match(/warning/g)?.length, 1, rerun.stderr)
    const aside = (line[2] as string).replace(/^'|'$/g, '')
    assert.match(aside, /\/\.imgpull\/journal-damaged-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.db$/)
    assert.ok((await readFile(aside)).equals(damaged), 'the damaged journal is kept as it was')
    // Every image whole at its name, none duplicated, and the new journal knows them all.
    for (const n of names)
      assert.ok((await readFile(join(out, n))).equals(server.bytes(`/${id}/${n}`)), `${n} is not whole`)
    assert.equal((await readdir(out)).filter((n) => n.endsWith('.jpg')).length, names.length)
    const db = new Database(journal, { readonly: true })
    assert.equal(
      (db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'ok'").get() as { n: number }).n,
      40,
    )
    db.close()
    assert.ok(server.log.length > sent)
    // A third run finds the new journal whole: nothing fetched, nothing said.
    const third = await runCli(args)
    assert.equal(third.code, 0, third.stderr)
    assert.doesNotMatch(third.stderr, /warning/)
  })
}

test('a journal of a newer imgpull is not damaged: refused as before, and not moved', async () => {
  const { args, journal } = await damagedFolder('newer', async (j) => {
    const db = new Database(j)
    db.pragma('user_version = 999')
    db.close()
  })
  const rerun = await runCli(args)
  assert.equal(rerun.code, 2, rerun.stderr)
  assert.match(rerun.stderr, /written by a newer imgpull/)
  assert.deepEqual(
    (await readdir(join(journal, '..'))).filter((n) => n.includes('damaged')),
    [],
    'nothing set aside',
  )
})

test('setJournalAside: the database and the files beside it take one dated name, a second one the same second another', async () => {
  const work = join(dir, 'aside')
  await rm(work, { recursive: true, force: true })
  await import('node:fs/promises').then((fs) => fs.mkdir(work))
  const path = join(work, 'journal.db')
  const now = new Date('2026-12-06T08:34:53.123Z')
  await writeFile(path, 'db')
  await writeFile(`${path}-wal`, 'wal')
  const first = setJournalAside(path, now)
  assert.equal(first, join(work, 'journal-damaged-2026-12-06T08-34-53Z.db'))
  assert.equal(await readFile(`${first}-wal`, 'utf8'), 'wal')
  await copyFile(first, path)
  const second = setJournalAside(path, now)
  assert.equal(second, join(work, 'journal-damaged-2026-12-06T08-34-53Z-2.db'))
  assert.deepEqual((await readdir(work)).sort(), [
    'journal-damaged-2026-12-06T08-34-53Z-2.db',
    'journal-damaged-2026-12-06T08-34-53Z.db',
    'journal-damaged-2026-12-06T08-34-53Z.db-wal',
  ])
})
