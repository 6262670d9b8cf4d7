import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { defaults, type Options, pull, resolveOptions } from '../src/index.js'
import { type OptionMisfit, optionMisfit } from '../src/options.js'
import { type TransformMisfit, type TransformOptions, transformMisfit } from '../src/transform/spec.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// Options given where they do nothing: the command line refuses each combination of its flags, and
// `pull()` refuses the same one of its options, through one rule, before anything is written.

describe('transformMisfit: a transform option given where it does nothing', () => {
  const cases: [TransformOptions, TransformMisfit | undefined][] = [
    [{}, undefined],
    [{ size: 64 }, { option: 'size', needs: 'resize' }],
    [
      { resize: 'no', size: 64 },
      { option: 'size', needs: 'resize' },
    ],
    [{ resize: 'keep-ratio', size: 64 }, undefined],
    [{ resizeOnlyIfBigger: true }, { option: 'resizeOnlyIfBigger', needs: 'resize' }],
    [{ resizeOnlyIfBigger: false }, undefined],
    [{ resize: 'center-crop', size: 8, resizeOnlyIfBigger: true }, undefined],
    [{ quality: 50 }, { option: 'quality', needs: 'written' }],
    [{ quality: 50, encode: 'webp' }, undefined],
    [{ quality: 50, resize: 'border', size: 8 }, undefined],
    [{ keepMetadata: true }, { option: 'keepMetadata', needs: 'written' }],
    [{ keepMetadata: false }, undefined],
    [{ keepMetadata: true, encode: 'png' }, undefined],
    [{ background: 'red' }, { option: 'background', needs: 'border-or-jpg' }],
    [
      { background: 'red', encode: 'webp' },
      { option: 'background', needs: 'border-or-jpg' },
    ],
    [
      { background: 'red', resize: 'keep-ratio', size: 8 },
      { option: 'background', needs: 'border-or-jpg' },
    ],
    [{ background: 'red', encode: 'jpg' }, undefined],
    [{ background: 'red', resize: 'border', size: 8 }, undefined],
    // The default colour is what a resolved spec holds: no colour asked for.
    [{ background: '#ffffff' }, undefined],
    [{ minSize: 8, maxAspectRatio: 2, maxPixels: 100, verifyDecode: true }, undefined],
  ]
  for (const [given, want] of cases)
    it(`${JSON.stringify(given)}: ${want ? `${want.option} needs ${want.needs}` : 'fine'}`, () => {
      assert.deepEqual(transformMisfit(given), want)
    })
})

describe('optionMisfit: an option given where it does nothing', () => {
  const cases: [Parameters<typeof optionMisfit>[0], OptionMisfit | undefined][] = [
    [{}, undefined],
    [
      { retryFailed: true, journal: false },
      { option: 'retryFailed', needs: 'journal' },
    ],
    [{ retryFailed: true, journal: true }, undefined],
    [{ retryFailed: false, journal: false }, undefined],
    [
      { name: '{index}{ext}', outputFormat: 'webdataset' },
      { option: 'name', needs: 'files' },
    ],
    [{ name: '{index}{ext}', outputFormat: 'files' }, undefined],
    [{ name: '{index}{ext}' }, undefined],
    [{ shardSize: 5 }, { option: 'shardSize', needs: 'webdataset' }],
    [
      { shardSize: 5, outputFormat: 'files' },
      { option: 'shardSize', needs: 'webdataset' },
    ],
    [{ shardSize: 5, outputFormat: 'webdataset' }, undefined],
  ]
  for (const [given, want] of cases)
    it(`${JSON.stringify(given)}: ${want ? `${want.option} needs ${want.needs}` : 'fine'}`, () => {
      assert.deepEqual(optionMisfit(given), want)
    })
})

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer()
  dir = await tempDir('option-misfits')
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

describe('pull() refuses what the command line refuses, naming the option and its value, writing nothing', () => {
  // Each ran before, the option dropped without a word: the image saved as it came.
  const cases: [string, Options, RegExp][] = [
    [
      'size without resize',
      { transform: { size: 64 } },
      /^`transform\.size` \(64\) does nothing without a `resize` mode/,
    ],
    [
      'resizeOnlyIfBigger without resize',
      { transform: { resizeOnlyIfBigger: true } },
      /^`transform\.resizeOnlyIfBigger` \(true\) does nothing without a `resize` mode/,
    ],
    [
      'quality with nothing written anew',
      { transform: { quality: 50 } },
      /^`transform\.quality` \(50\) does nothing without images written anew: give `encode` or a `resize` mode/,
    ],
    [
      'keepMetadata with nothing written anew',
      { transform: { keepMetadata: true } },
      /^`transform\.keepMetadata` \(true\) does nothing without images written anew/,
    ],
    [
      'background without border or jpg',
      { transform: { background: 'red', resize: 'keep-ratio', size: 64 } },
      /^`transform\.background` \(the string "red"\) does nothing without the padding of `resize: 'border'`/,
    ],
    [
      'retryFailed without a journal',
      { retryFailed: true, journal: false },
      /^`retryFailed: true` tries again the failures the journal remembers: with `journal: false` none are remembered/,
    ],
    [
      'name for WebDataset shards',
      { outputFormat: 'webdataset', name: '{index}{ext}' },
      /^`name` \(the string "\{index\}\{ext\}"\) names the files of `outputFormat: 'files'`/,
    ],
    [
      'shardSize for files',
      { shardSize: 5 },
      /^`shardSize` \(5\) is for `outputFormat: 'webdataset'`: give it, or leave `shardSize` out$/,
    ],
    // Siblings already refused, kept so: a typo, a wrong kind, out of range.
    ['a misspelt option', { concurency: 4 } as Options, /^Unknown option `concurency`/],
    ['a number as a string', { concurrency: '4' } as unknown as Options, /`concurrency`.*the string "4"/],
    ['concurrency 0', { concurrency: 0 }, /`concurrency` to be an integer >= 1, got 0/],
    ['retries -1', { retries: -1 }, /`retries` to be an integer >= 0, got -1/],
    // Past 2^53 - 1 (rounded already: 2 ** 53 + 1 is 2 ** 53) the bound it is over is said, not `>= 1`.
    [
      'maxSize past 2^53 - 1',
      { maxSize: 2 ** 53 + 2 },
      /`maxSize` to be an integer from 1 to 9,007,199,254,740,991, got 9007199254740994$/,
    ],
    // An array said as itself: `got ` and nothing more, before.
    [
      'headers as an array',
      { headers: [] as unknown as Record<string, string> },
      /`headers` to be an object of header names and values, got the array \[\]$/,
    ],
    [
      'transform as an array',
      { transform: [['size', 64]] as unknown as TransformOptions },
      /`transform` to be an object of transform options, got the array \[\["size",64\]\]$/,
    ],
    [
      'a misspelt transform option',
      { transform: { sise: 64 } as TransformOptions },
      /Unknown transform option `sise`/,
    ],
    // fetch's own headers (undici's Headers), or a Map: read as {}, their headers went unsent
    // without a word (developit/unfetch#124, RedHatInsights/insights-chrome#2461).
    [
      'headers as a Headers object',
      { headers: new Headers({ 'X-Api-Key': 'k' }) as unknown as Record<string, string> },
      /`headers` to be an object of header names and values, got a Headers object: give Object\.fromEntries\(it\)$/,
    ],
    [
      'transform as a Map',
      { transform: new Map([['size', 64]]) as unknown as TransformOptions },
      /^Expected the transform options to be a plain object, got a Map object: give Object\.fromEntries\(it\)$/,
    ],
  ]
  for (const [label, options, message] of cases)
    it(label, () => {
      const out = join(dir, label.replaceAll(' ', '-'))
      assert.throws(
        () => pull([server.url('/a.jpg')], { out, report: false, ...options }),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      )
      assert.equal(existsSync(out), false, 'nothing is written')
      assert.throws(() => resolveOptions({ out, ...options }), TypeError)
    })
})

it('options as a Map, or inherited from a prototype, are refused: read as none, the run went into the working folder at the defaults', () => {
  // developit/unfetch#124: a Map's entries, and a prototype's keys (which a spread drops), are no
  // own properties, so `out` was '.' and every other option its default.
  const out = join(dir, 'hidden-options')
  const base = { out, concurrency: 2 }
  for (const [options, message] of [
    [
      new Map([['out', out]]),
      'Expected the options to be a plain object, got a Map object: give Object.fromEntries(it)',
    ],
    [
      Object.create(base),
      'Expected the options to be a plain object, got one whose `out` is inherited from its prototype: give each as its own property',
    ],
  ] as const) {
    assert.throws(() => pull([server.url('/a.jpg')], options as Options), { name: 'TypeError', message })
    assert.throws(() => resolveOptions(options as Options), { name: 'TypeError', message })
  }
  assert.equal(existsSync(out), false, 'nothing is written')
  // A plain object without a prototype is one.
  assert.equal(resolveOptions(Object.assign(Object.create(null), base)).concurrency, 2)
})

describe('pull() takes a default given again as not given (what the command and a queue pass)', () => {
  const cases: [string, Options, string][] = [
    [
      'the default name with WebDataset shards',
      { outputFormat: 'webdataset', name: defaults.name },
      '00000.tar',
    ],
    ['the default shard size with files', { shardSize: defaults.shardSize }, 'a.jpg'],
    ['a resolved transform', { transform: defaults.transform }, 'a.jpg'],
    ['the default background alone', { transform: { background: '#ffffff' } }, 'a.jpg'],
    ['retryFailed with the journal', { retryFailed: true }, 'a.jpg'],
  ]
  for (const [label, options, file] of cases)
    it(label, async () => {
      const out = join(dir, `ok-${label.replaceAll(' ', '-')}`)
      const statuses: string[] = []
      for await (const r of pull([server.url('/a.jpg')], { out, report: false, ...options }))
        statuses.push(r.status)
      assert.deepEqual(statuses, ['ok'])
      assert.ok(readdirSync(out).includes(file), readdirSync(out).join(', '))
    })

  it("a source's own name template with WebDataset shards: the source's, not the caller's, left unused", async () => {
    const out = join(dir, 'source-name')
    const source = Object.assign([server.url('/a.jpg')], { name: '{index}{ext}' })
    const statuses: string[] = []
    for await (const r of pull(source, { out, report: false, outputFormat: 'webdataset' }))
      statuses.push(r.status)
    assert.deepEqual(statuses, ['ok'])
    assert.ok(readdirSync(out).includes('00000.tar'))
  })
})
