import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import { ownEnv, splitNodeOptions, withoutPreloads } from '../src/utils/node-options.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// A service run with NODE_OPTIONS='--require agent.js' (an APM agent, a loader): the preload ran
// again in every transfer thread, in the thread that hashes large bodies, and in each image
// worker. Measured with a preload that acts only outside the main thread: one that throws stopped
// `--threads 2` (exit 3), the image workers ("exit before they are ready (code 1, null)", no
// cause) and failed every body of 4 MB or more (`hash-failed`, after 10 s of retries); one that
// takes 3 s made each run 3 s longer. The main thread ran it already; none of imgpull's own does.

let server: ImageServer
let dir: string
let image: Buffer

before(async () => {
  image = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#f80' } })
    .jpeg()
    .toBuffer()
  // Past 4 MB: hashed on the hashing thread (a JPEG with bytes after its end marker).
  const large = Buffer.concat([image, Buffer.alloc(5 * 1024 * 1024)])
  server = await startImageServer({ body: (name) => (name.startsWith('large') ? large : image) })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('NODE_OPTIONS split and written back as Node reads it, its preloads taken out and nothing else', () => {
  // [NODE_OPTIONS, its words, the words kept]
  const table: [string, string[], string[]][] = [
    ['--require a.js', ['--require', 'a.js'], []],
    ['-r a.js --tls-min-v1.0', ['-r', 'a.js', '--tls-min-v1.0'], ['--tls-min-v1.0']],
    [
      '--import=tsx --max-old-space-size=512',
      ['--import=tsx', '--max-old-space-size=512'],
      ['--max-old-space-size=512'],
    ],
    ['--loader ./l.mjs --experimental-loader=x', ['--loader', './l.mjs', '--experimental-loader=x'], []],
    [
      '--tls-cipher-list="DEFAULT@SECLEVEL=0" --require "/opt/my agent/start.js"',
      ['--tls-cipher-list=DEFAULT@SECLEVEL=0', '--require', '/opt/my agent/start.js'],
      ['--tls-cipher-list=DEFAULT@SECLEVEL=0'],
    ],
    [
      '--title "a \\"b\\" c"  --trace-warnings',
      ['--title', 'a "b" c', '--trace-warnings'],
      ['--title', 'a "b" c', '--trace-warnings'],
    ],
    ['  ', [], []],
  ]
  for (const [value, words, kept] of table) {
    assert.deepEqual(splitNodeOptions(value), words, value)
    assert.deepEqual(splitNodeOptions(withoutPreloads(value)), kept, value)
  }
  assert.equal(withoutPreloads('--title "a \\"b\\" c" -r x'), '--title "a \\"b\\" c"')
  assert.deepEqual(ownEnv({ NODE_OPTIONS: '--require a.js', HTTP_PROXY: 'http://p' }), {
    HTTP_PROXY: 'http://p',
  })
  assert.deepEqual(ownEnv({ NODE_OPTIONS: '-r a --tls-min-v1.0' }), { NODE_OPTIONS: '--tls-min-v1.0' })
})

const outside = `const { isMainThread } = require('node:worker_threads')
const elsewhere = !isMainThread || typeof process.send === 'function'`

for (const [kind, act] of [
  ['throws', `throw new Error('preload boom')`],
  ['takes 3 s', `const end = Date.now() + 3000; while (Date.now() < end);`],
  ['holds 40 MB', `globalThis.agent = Array.from({ length: 400 }, (_, i) => new Array(20000).fill({ i }))`],
] as const) {
  test(`a NODE_OPTIONS preload that ${kind} runs in none of imgpull's threads and workers: transfer threads, the hashing thread, the image workers`, async () => {
    const name = kind.replaceAll(' ', '-')
    const marks = join(dir, `${name}.marks`)
    const preload = join(dir, `${name}.cjs`)
    await writeFile(
      preload,
      `${outside}\nif (elsewhere) { require('node:fs').appendFileSync(${JSON.stringify(marks)}, 'x'); ${act} }\n`,
    )
    const urls = [
      ...Array.from({ length: 4 }, (_, i) => server.url(`/small-${name}-${i}`)),
      ...Array.from({ length: 2 }, (_, i) => server.url(`/large-${name}-${i}`)),
    ]
    const env = { NODE_OPTIONS: `--require ${preload}` }
    for (const flags of [
      ['--threads', '2'],
      ['--resize', 'keep-ratio', '--size', '64'],
    ]) {
      const out = join(dir, `${name}-${flags[0].slice(2)}`)
      const r = await runCli([...urls, '-o', out, ...flags], { env })
      assert.equal(r.code, 0, r.stderr)
    }
    assert.equal(
      existsSync(marks) ? await readFile(marks, 'utf8') : '',
      '',
      'no thread or worker ran the preload',
    )
  })
}
