import assert from 'node:assert/strict'
import { statfsSync } from 'node:fs'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { resumeRange } from './support/resume.js'
import { growDisk, onSmallDisk, until } from './support/wait.js'

let dir: string
before(async () => {
  dir = await tempDir()
})
after(() => cleanup(dir))

test('disk full, the journal meeting it before the part (on transfer threads): the part is kept and journaled, the stop says a rerun resumes it, and the rerun does', (t) =>
  onSmallDisk(t, join(dir, 'journal-first'), '1000k', async (mnt) => {
    // A transfer thread writes the body on while the main thread commits its validators: on a
    // loaded machine that commit came after the part had filled the disk (SQLITE_FULL, its batch
    // rolled back), and the stop said `cannot write OUT: no space left on device` with no word of
    // a rerun resuming, the part removed: the rerun fetched the file from byte 0. Made so here
    // without timing: the test holds the journal's write lock from the request on (the main
    // thread's commit waits for it), and lets go once the thread's part has filled the disk.
    const out = join(mnt, 'out')
    let held: Database.Database | undefined
    let server: ImageServer | undefined
    server = await startImageServer({
      hold: () => {
        if (held || server?.log.length !== 1) return undefined
        held = new Database(join(out, '.imgpull', 'journal.db'))
        held.exec('BEGIN IMMEDIATE')
        return undefined
      },
    })
    const fast = server
    t.after(() => fast.close())
    const path = '/journal-first?size=1400000'
    const list = join(mnt, 'list.txt')
    await writeFile(list, `${fast.url(path)}\n`)
    const args = [list, '-o', out, '--threads', '2']
    const run = startCli(args)
    await until('the part to fill the disk', () => held !== undefined && statfsSync(mnt).bavail === 0)
    held?.exec('ROLLBACK')
    held?.close()
    const first = await run.done
    assert.equal(first.code, 3, first.stderr)
    assert.match(
      first.stderr,
      /no space left on device; stopped, files already saved are complete; .*\(partial downloads in \S+ hold [\d.]+ [kM]B: a rerun resumes them/,
    )
    const parts = await readdir(join(out, '.imgpull', 'parts'))
    assert.equal(parts.length, 1, parts.join(', '))
    const kept = (await stat(join(out, '.imgpull', 'parts', parts[0] as string))).size
    assert.ok(kept > 100_000, `${kept} bytes kept`)
    growDisk(mnt)
    const sent = fast.log.length
    const second = await runCli(args)
    assert.equal(second.code, 0, second.stderr)
    assert.deepEqual(
      fast.log.slice(sent).map((r) => r.headers.range),
      [resumeRange(kept)],
      'one request, resuming the bytes on disk',
    )
    assert.ok((await readFile(join(out, 'journal-first.jpg'))).equals(fast.bytes(path)), 'the file differs')
  }))
