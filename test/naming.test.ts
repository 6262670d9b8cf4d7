import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EXT, renderName, safeSegment, templateFields, withExt, withSuffix } from '../src/plan/naming.js'

const name = (template: string, url: string, index = 1) =>
  renderName(template, { url: new URL(url), index, key: url })

test('the default name is the last path segment plus the detected extension', () => {
  const planned = name('{name}{ext}', 'https://images.unsplash.com/photo-1516117172878-fd2c41f4a759')
  assert.equal(planned, `photo-1516117172878-fd2c41f4a759${EXT}`)
  assert.equal(withExt(planned, 'jpg'), 'photo-1516117172878-fd2c41f4a759.jpg')
  assert.equal(withExt(planned, undefined), 'photo-1516117172878-fd2c41f4a759')
})

test("'{name}' reproduces the article's names exactly", () => {
  assert.equal(
    withExt(name('{name}', 'https://images.unsplash.com/photo-1550439062-609e1531270e'), 'jpg'),
    'photo-1550439062-609e1531270e',
  )
})

test('host, path, index and hash placeholders', () => {
  const url = 'https://cdn.example.com/a/b/cat.png?x=1'
  assert.equal(withExt(name('{host}/{path}', url), 'png'), 'cdn.example.com/a/b/cat.png')
  assert.equal(withExt(name('{index}-{name}{ext}', url, 42), 'png'), '42-cat.png')
  // The detected format names the file, whatever the URL claimed.
  assert.equal(withExt(name('{name}{ext}', 'https://h/photo.JPEG'), 'jpg'), 'photo.jpg')
  assert.equal(withExt(name('{name}{ext}', 'https://h/really-webp.png'), 'webp'), 'really-webp.webp')
  assert.equal(withExt(name('{name}{ext}', 'https://h/.png'), 'png'), '_png.png')
  assert.match(name('{hash}', url), /^[0-9a-f]{16}$/)
  assert.deepEqual(templateFields('{id}-{slug}{ext}'), ['id', 'slug', 'ext'])
})

test('names never escape the output folder', () => {
  const cases = [
    'https://h/..',
    'https://h/a/%2E%2E',
    'https://h/..%2F..%2Fetc%2Fpasswd',
    'https://h/..%5C..%5Cwindows',
    'https://h/%2Fabsolute',
    'https://h/a%00b%0Ac%1B',
    'https://h/.hidden',
    'https://h/.imgpull',
  ]
  for (const url of cases) {
    for (const template of ['{name}{ext}', '{path}', '{host}/{name}']) {
      const out = withExt(name(template, url), 'jpg')
      for (const segment of out.split('/')) {
        assert.notEqual(segment, '..', `${url} with ${template} gave ${out}`)
        assert.notEqual(segment, '.', `${url} with ${template} gave ${out}`)
        assert.ok(!segment.startsWith('.'), `${url} with ${template} gave hidden ${out}`)
        // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for them
        assert.doesNotMatch(segment, /[\u0000-\u001f\\]/, `${url} gave ${JSON.stringify(out)}`)
      }
      assert.ok(!out.startsWith('/'), out)
    }
  }
})

test('very long segments are cut to a bounded length, keeping the extension', () => {
  const long = 'x'.repeat(1000)
  const out = withExt(name('{name}{ext}', `https://h/${long}`), 'webp')
  assert.ok(Buffer.byteLength(out) <= 210, `length ${out.length}`)
  assert.ok(out.endsWith('.webp'))
  const multibyte = withExt(name('{name}', `https://h/${'é'.repeat(300)}`), 'jpg')
  assert.ok(Buffer.byteLength(multibyte) <= 200)
  assert.ok(!multibyte.includes('\uFFFD'))
})

test('a taken name gets a deterministic suffix before the extension', () => {
  const planned = name('{name}{ext}', 'https://a/cat')
  const a = withSuffix(planned, 'https://a/cat')
  assert.equal(a, withSuffix(planned, 'https://a/cat'))
  assert.notEqual(a, withSuffix(planned, 'https://b/cat'))
  assert.match(withExt(a, 'jpg'), /^cat-[0-9a-f]{8}\.jpg$/)
  assert.equal(safeSegment('..'), '_')
})
