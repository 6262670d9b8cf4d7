// V8's code cache for the command's bundle (src/cli/code-cache.ts): where it goes, that a run
// writes it once and the next takes it (V8 refuses one made under other flags, and a refused cache
// is written again), and that a folder it cannot or must not use never fails a run.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  cacheFolder,
  cacheName,
  KEPT_CACHES,
  ownedFolder,
  readTextInChunks,
  staleCaches,
} from '../src/cli/code-cache.js'
import { commandFlags } from '../src/cli/v8-flags.js'
import { LARGE_BODY } from '../src/fetch/large-bodies.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { startImageServer } from './support/image-server.js'

test('cacheFolder: XDG_CACHE_HOME when absolute, else HOME/.cache, else the temporary folder per user', () => {
  const cases: [NodeJS.ProcessEnv, string, number | undefined, string][] = [
    [{ XDG_CACHE_HOME: '/x/cache' }, '/home/a', 1000, '/x/cache/imgpull'],
    [{ XDG_CACHE_HOME: 'relative/cache' }, '/home/a', 1000, '/home/a/.cache/imgpull'], // invalid: ignored
    [{ XDG_CACHE_HOME: '' }, '/home/a', 1000, '/home/a/.cache/imgpull'],
    [{}, '/home/a', 1000, '/home/a/.cache/imgpull'],
    [{}, '', 1000, '/tmp/imgpull-1000'],
    [{}, 'nowhere', 0, '/tmp/imgpull-0'],
    [{}, '', undefined, '/tmp/imgpull'],
  ]
  for (const [env, home, uid, want] of cases)
    assert.equal(cacheFolder(env, home, '/tmp', uid), want, JSON.stringify([env, home, uid]))
})

test('ownedFolder: only a folder of this user that no one else may write to', () => {
  const folder = (uid: number, mode: number, directory = true) => ({
    isDirectory: () => directory,
    uid,
    mode,
  })
  const cases: [ReturnType<typeof folder>, number | undefined, boolean][] = [
    [folder(1000, 0o40700), 1000, true],
    [folder(1000, 0o40755), 1000, true],
    [folder(1000, 0o40775), 1000, false], // the group may write
    [folder(1000, 0o40777), 1000, false],
    [folder(1000, 0o41777), 1000, false], // sticky, as /tmp
    [folder(0, 0o40700), 1000, false], // another user's
    [folder(1000, 0o120777, false), 1000, false], // a link
    [folder(1000, 0o40777), undefined, true], // no users (Windows)
  ]
  for (const [stat, uid, want] of cases)
    assert.equal(ownedFolder(stat, uid), want, `${stat.mode.toString(8)} ${uid}`)
})

test('cacheName: the bundle by content, size and time, the Node by version and machine', () => {
  const name = cacheName('0123abcd', 2441856, 1796439144740.7, 'v20.20.2', 'x64')
  assert.equal(name, 'imgpull-0123abcd-2441856-1796439144740-v20.20.2-x64.v8cache')
  assert.notEqual(cacheName('0123abce', 2441856, 1796439144740, 'v20.20.2', 'x64'), name)
  assert.notEqual(cacheName('0123abcd', 2441856, 1796439144741, 'v20.20.2', 'x64'), name)
  assert.notEqual(cacheName('0123abcd', 2441856, 1796439144740, 'v22.23.5', 'x64'), name)
})

test('commandFlags: set before the bundle compiles; node given its own heap growth keeps it', () => {
  assert.deepEqual(commandFlags([], true), ['--liftoff-only', '--heap-growing-percent=50'])
  assert.deepEqual(commandFlags([], false), [
    '--liftoff-only',
    '--harmony-json-parse-with-source',
    '--heap-growing-percent=50',
  ])
  assert.deepEqual(commandFlags(['--heap-growing-percent=0'], true), ['--liftoff-only'])
})

/** The cache files in `folder`/imgpull, by name, with their inode (a file written again is a new one). */
async function caches(folder: string): Promise<Map<string, number>> {
  const names = await readdir(join(folder, 'imgpull')).catch(() => [] as string[])
  const found = new Map<string, number>()
  for (const name of names.filter((n) => n.endsWith('.v8cache')))
    found.set(name, (await stat(join(folder, 'imgpull', name))).ino)
  return found
}

test('a run writes the cache, and the next takes it as it is (404s: the start-up is what counts)', async () => {
  const cache = await tempDir()
  const out = await tempDir()
  try {
    const env = { XDG_CACHE_HOME: cache }
    const first = await runCli(['http://127.0.0.1:9/a.jpg', '-o', out, '--quiet', '--retries', '0'], { env })
    assert.equal(first.code, 1, first.stderr)
    const written = await caches(cache)
    assert.equal(written.size, 1, `one cache file in ${cache}/imgpull`)
    const [name] = [...written.keys()]
    assert.match(
      name,
      new RegExp(`^imgpull-[0-9a-f]{16}-\\d+-\\d+-${process.version}-${process.arch}\\.v8cache$`),
    )
    assert.equal((await stat(join(cache, 'imgpull'))).mode & 0o777, 0o700)
    assert.equal((await stat(join(cache, 'imgpull', name))).mode & 0o777, 0o600)
    const second = await runCli(['http://127.0.0.1:9/b.jpg', '-o', out, '--quiet', '--retries', '0'], { env })
    assert.equal(second.code, 1, second.stderr)
    // Refused (made under other V8 flags than the run's), it would have been written anew.
    assert.deepEqual(await caches(cache), written, 'the second run took the cache as it was')
  } finally {
    await cleanup(cache, out)
  }
})

test('a large body switches V8 flags mid-run: the cache was written before, and the next run takes it', async () => {
  const server = await startImageServer({
    sizes: [LARGE_BODY + 4 * 1048576, LARGE_BODY + 4 * 1048576],
    record: false,
  })
  const cache = await tempDir()
  const out = await tempDir()
  try {
    const env = { XDG_CACHE_HOME: cache }
    const args = ['-o', out, '--quiet', '--hash', 'none', '--max-size', '1GiB', '--threads', '0']
    const first = await runCli([`${server.origin}/large1`, ...args], { env })
    assert.equal(first.code, 0, first.stderr)
    const written = await caches(cache)
    assert.equal(written.size, 1)
    const second = await runCli([`${server.origin}/large2`, ...args], { env })
    assert.equal(second.code, 0, second.stderr)
    assert.deepEqual(await caches(cache), written, 'the second run took the cache as it was')
  } finally {
    await cleanup(cache, out)
    await server.close()
  }
})

test('a cache folder others may write to is neither read nor written; one that cannot be made fails nothing', async () => {
  const cache = await tempDir()
  const out = await tempDir()
  try {
    const open = join(cache, 'open')
    await mkdir(join(open, 'imgpull'), { recursive: true })
    await chmod(join(open, 'imgpull'), 0o777)
    const args = (name: string) => [`http://127.0.0.1:9/${name}.jpg`, '-o', out, '--quiet', '--retries', '0']
    const shared = await runCli(args('a'), { env: { XDG_CACHE_HOME: open } })
    assert.equal(shared.code, 1, shared.stderr)
    assert.match(shared.stderr, /^failed network: .*ECONNREFUSED/m)
    assert.equal((await caches(open)).size, 0)

    // A file where the folder would be made.
    await writeFile(join(cache, 'file'), '')
    const blocked = await runCli(args('b'), { env: { XDG_CACHE_HOME: join(cache, 'file') } })
    assert.equal(blocked.code, 1, blocked.stderr)
    assert.match(blocked.stderr, /^failed network: .*ECONNREFUSED/m)
    assert.doesNotMatch(blocked.stderr, /ENOTDIR|cache/)

    // Node's own switch turns it off.
    const off = join(cache, 'off')
    const disabled = await runCli(args('c'), {
      env: { XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' },
    })
    assert.equal(disabled.code, 1, disabled.stderr)
    assert.equal((await caches(off)).size, 0)
  } finally {
    await cleanup(cache, out)
  }
})

test('staleCaches: all but the latest written go', () => {
  const caches = [
    { name: 'a', mtimeMs: 3 },
    { name: 'b', mtimeMs: 5 },
    { name: 'c', mtimeMs: 1 },
    { name: 'd', mtimeMs: 4 },
    { name: 'e', mtimeMs: 2 },
  ]
  assert.deepEqual(staleCaches(caches, 3), ['e', 'c'])
  assert.deepEqual(staleCaches(caches, 5), [])
  assert.deepEqual(staleCaches([], 4), [])
})

test('a cache folder keeps the latest few caches, not one per build ever made; other files stay', async () => {
  const cache = await tempDir()
  const out = await tempDir()
  try {
    const folder = join(cache, 'imgpull')
    await mkdir(folder, { recursive: true, mode: 0o700 })
    // Caches of earlier builds, written before this run's, and a file that is not a cache.
    const old = Array.from({ length: KEPT_CACHES + 2 }, (_, i) => `imgpull-00${i}-1-1-v20.0.0-x64.v8cache`)
    for (const [i, name] of old.entries()) {
      await writeFile(join(folder, name), 'old')
      await utimes(join(folder, name), 1000 + i, 1000 + i)
    }
    await writeFile(join(folder, 'notes.txt'), 'mine')
    const run = await runCli(['http://127.0.0.1:9/a.jpg', '-o', out, '--quiet', '--retries', '0'], {
      env: { XDG_CACHE_HOME: cache },
    })
    assert.equal(run.code, 1, run.stderr)
    // Node 22+'s own compile cache is the `node` folder beside them (bin.ts).
    const left = (await readdir(folder)).filter((name) => name !== 'node').sort()
    assert.equal(left.length, KEPT_CACHES + 1)
    assert.ok(left.includes('notes.txt'))
    // The run's own, and the latest of the others.
    assert.deepEqual(
      left.filter((name) => old.includes(name)),
      old.slice(-(KEPT_CACHES - 1)),
    )
  } finally {
    await cleanup(cache, out)
  }
})

test('readTextInChunks: the text readFileSync gives, a character split across two reads included', async () => {
  const dir = await tempDir()
  try {
    // 64 KiB reads: a 2-, 3- and 4-byte character each straddling a boundary, and an empty file.
    const cases = [
      '',
      'plain ascii\n',
      `${'a'.repeat(65535)}é${'b'.repeat(65534)}€${'c'.repeat(65533)}😀 end`,
      'ü'.repeat(200_000),
    ]
    for (const [i, text] of cases.entries()) {
      const file = join(dir, `t${i}.js`)
      await writeFile(file, text)
      assert.equal(readTextInChunks(file), readFileSync(file, 'utf8'), `case ${i}`)
      assert.equal(readTextInChunks(file), text, `case ${i}`)
    }
  } finally {
    await cleanup(dir)
  }
})
