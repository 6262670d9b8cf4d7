import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { runCli } from './support/cli.js'

const dir = await mkdtemp(join(tmpdir(), 'imgpull-no-journal-'))
after(() => rm(dir, { recursive: true, force: true }))

/** A folder with an (empty) journal file where `status` and `report` look for one. */
async function journalIn(folder: string) {
  await mkdir(join(folder, '.imgpull'), { recursive: true })
  await writeFile(join(folder, '.imgpull', 'journal.db'), '')
}

test('status and report of a folder that is not there say so, not only that it holds no journal', async () => {
  for (const command of ['status', 'report']) {
    const r = await runCli([command, join(dir, 'nowhere')])
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /^imgpull: no imgpull journal in '.*nowhere': there is no such folder \(see imgpull \w+ --help\)\n$/,
    )
  }
})

test("a queue's WebDataset output: a shard's name given as a folder names its journal where it is, in the work folder", async () => {
  // As a worker leaves it (queue/publish.ts): 00000.tar in OUT, the shard's journal in .imgpull/queue/00000.
  const out = join(dir, 'wds')
  await mkdir(join(out, '.imgpull', 'queue'), { recursive: true })
  await writeFile(join(out, '.imgpull', 'queue', 'input.json'), '{}')
  for (const shard of ['00000', '00001']) {
    await writeFile(join(out, `${shard}.tar`), '')
    await journalIn(join(out, '.imgpull', 'queue', shard))
  }
  const shard = await runCli(['status', join(out, '00001')])
  assert.equal(shard.code, 2)
  assert.match(
    shard.stderr,
    /no imgpull journal in '.*wds\/00001': there is no such folder; WebDataset shard 00001's journal is in .*wds\/\.imgpull\/queue\/00001: give that folder/,
  )
})

test("a queue's output folder where no worker has begun a shard yet: status and report say so, naming the queue's own status", async () => {
  // Bound by a worker (its input.json) whose shards' runs never began (the input unreadable there).
  const out = join(dir, 'bound')
  await mkdir(join(out, '.imgpull', 'queue', '00000'), { recursive: true })
  await writeFile(join(out, '.imgpull', 'queue', 'input.json'), '{}')
  for (const command of ['status', 'report']) {
    const r = await runCli([command, out])
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /no imgpull journal in '.*bound' .*: it is a queue's output folder where no worker has begun a shard yet; see imgpull status --redis URL --queue NAME/,
    )
  }
})

test('status and report of a folder mistyped name the output folder beside it that was meant, never a folder without a journal', async () => {
  const here = join(dir, 'near')
  await journalIn(join(here, 'photos'))
  await mkdir(join(here, 'data'), { recursive: true })
  for (const command of ['status', 'report']) {
    const r = await runCli([command, join(here, 'photo')])
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /^imgpull: no imgpull journal in '.*near\/photo': there is no such folder; did you mean '.*near\/photos'\? \(see imgpull \w+ --help\)\n$/,
    )
  }
  const typed = await runCli(['status', 'Phots'], { cwd: here })
  assert.match(typed.stderr, /: there is no such folder; did you mean 'photos'\? \(see/)
  // data/ holds no journal: not the folder meant.
  const other = await runCli(['status', join(here, 'dat')])
  assert.match(other.stderr, /^imgpull: no imgpull journal in '.*near\/dat': there is no such folder \(see/)
})
