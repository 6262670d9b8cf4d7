import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// A fault of imgpull's own (a bug: `Cannot read properties of undefined`), met midway through a
// run: the catch-all printed its raw message, 3,000 characters of it and its line breaks, and
// exited 1, which says "some files failed": a script could not tell a crash from failed
// downloads (mypy gave its crashes a code of their own for that: python/mypy#5987), and nothing
// said it was a bug nor where to report it, as gallery-dl's one line does ("An unexpected error
// occurred: KeyError - 'data'. ... report this issue on https://github.com/mikf/gallery-dl/issues",
// mikf/gallery-dl#7391). It now exits 70, sysexits' EX_SOFTWARE (internal software error).

let server: ImageServer
let dir: string

before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('a fault of imgpull its own midway through a run: one line saying so and where to report it, the stack in a file of the work folder, exit 70, the files saved kept for the rerun', async () => {
  // The bug, modelled by a preload that throws where the command writes its first --json line.
  const hook = join(dir, 'bug.mjs')
  await writeFile(
    hook,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"'))
    throw new Error('boom at http://user:secret@example.com/x ' + 'x'.repeat(3000) + '\\nits second line')
  return write.call(this, chunk, ...rest)
}
`,
  )
  const out = join(dir, 'out')
  const urls = ['/a.jpg', '/b.jpg', '/c.jpg'].map((p) => server.url(p))
  const r = await runCli([...urls, '-o', out, '--json', '--concurrency', '1'], {
    env: { NODE_OPTIONS: `--import ${hook}` },
  })
  assert.equal(r.code, 70, r.stderr)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.ok(lines[0].length < 700, lines[0])
  assert.match(
    lines[0],
    /^imgpull: internal error, a fault of imgpull's own, not of the input or the servers: Error: boom/,
  )
  assert.match(lines[0], /files already saved are complete and a rerun continues/)
  assert.match(lines[0], /please report it at https:\/\/github\.com\/imgpull\/imgpull\/issues/)
  assert.doesNotMatch(r.stderr, /secret|second line/)
  const file = /its stack is in '?([^';:]+\.txt)/.exec(lines[0])?.[1]
  assert.ok(file?.startsWith(join(out, '.imgpull', 'fault-')), lines[0])
  const stack = await readFile(file ?? '', 'utf8')
  assert.match(stack, /its second line\n\s+at /)
  assert.doesNotMatch(stack, /secret/)
  // What was saved is the rerun's: it fails nothing and gets each file once.
  const again = await runCli([...urls, '-o', out, '--quiet'])
  assert.equal(again.code, 0, again.stderr)
  for (const p of ['a.jpg', 'b.jpg', 'c.jpg'])
    assert.deepEqual(await readFile(join(out, p)), server.bytes(`/${p}`))
  // V8's TypeError at a bug (a value used as one it is not) is no usage error: it was said as one,
  // exit 2 and `(see imgpull --help)`. With IMGPULL_DEBUG=1, the stack on stderr too.
  const typed = join(dir, 'typed.mjs')
  await writeFile(
    typed,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"')) return globalThis.nothing.size
  return write.call(this, chunk, ...rest)
}
`,
  )
  const debug = await runCli([server.url('/d.jpg'), '-o', join(dir, 'debug'), '--json'], {
    env: { NODE_OPTIONS: `--import ${typed}`, IMGPULL_DEBUG: '1' },
  })
  assert.equal(debug.code, 70, debug.stderr)
  assert.match(
    debug.stderr,
    /^imgpull: internal error, .*: TypeError: Cannot read properties of undefined \(reading 'size'\);/m,
  )
  assert.doesNotMatch(debug.stderr, /imgpull --help/)
  assert.match(debug.stderr, /\n\s+at /)
  assert.ok(existsSync(join(dir, 'debug', 'd.jpg')))
  // Thrown outside the command's awaits (a callback's): Node's 10 lines of stack and exit 1, the
  // lock left and no manifest; now the same line and 70, and the rerun has the file.
  const loose = join(dir, 'loose.mjs')
  await writeFile(
    loose,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"')) setImmediate(() => { throw new Error('loose\\nits line') })
  return write.call(this, chunk, ...rest)
}
`,
  )
  const thrown = join(dir, 'thrown')
  const outside = await runCli([server.url('/e.jpg'), '-o', thrown, '--json'], {
    env: { NODE_OPTIONS: `--import ${loose}` },
  })
  assert.equal(outside.code, 70, outside.stderr)
  assert.match(outside.stderr, /^imgpull: internal error, .*: Error: loose; .*its stack is in /)
  assert.equal(outside.stderr.trimEnd().split('\n').length, 1, outside.stderr)
  const rerun = await runCli([server.url('/e.jpg'), '-o', thrown, '--json'])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(await readFile(join(thrown, 'e.jpg')), server.bytes('/e.jpg'))
})
