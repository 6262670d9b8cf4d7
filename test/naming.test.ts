import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  EXT,
  flatVariant,
  isReserved,
  MAX_NAME_BYTES,
  renderName,
  safeSegment,
  shortVariant,
  templateFields,
  templateRewrites,
  withExt,
  withSuffix,
} from '../src/plan/naming.js'

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
  // Every format's own extension, and the other names in use for it, give way to the detected one.
  const renamed: [string, string, string][] = [
    ['favicon.cur', 'cur', 'favicon.cur'],
    ['scan.jp2', 'jp2', 'scan.jp2'],
    ['scan.JPX', 'jpx', 'scan.jpx'],
    ['tile.j2k', 'j2c', 'tile.j2c'],
    ['tile.jpc', 'j2c', 'tile.j2c'],
    ['tile.J2C', 'j2c', 'tile.j2c'],
    ['photo.jfif', 'jpg', 'photo.jpg'],
    ['photo.jpe', 'jpg', 'photo.jpg'],
    ['spin.apng', 'png', 'spin.png'],
    ['clip.avifs', 'avif', 'clip.avif'],
    ['burst.heics', 'heic', 'burst.heic'],
    ['canon.HIF', 'heic', 'canon.heic'],
    ['page.php', 'jpg', 'page.php.jpg'],
    // Kept only as the image its Content-Encoding decoded to: the compression's name goes too.
    ['photo.jpg.gz', 'jpg', 'photo.jpg'],
    ['logo.svgz', 'svg', 'logo.svg'],
    ['tile.png.br', 'png', 'tile.png'],
    ['archive.gz', 'jpg', 'archive.gz.jpg'],
    // A variant's tag after the extension goes with it: Twitter's size after a colon
    // (Tyrrrz/DiscordChatExporter#483: saved as .jpg_large), a servlet's session after a semicolon.
    ['ABC.jpg:large', 'jpg', 'ABC.jpg'],
    ['ABC.png:orig', 'png', 'ABC.png'],
    ['photo.jpg;jsessionid=8F2A', 'jpg', 'photo.jpg'],
    ['photo.JPEG;v=1;w=640', 'webp', 'photo.webp'],
    ['page.php;x=1', 'jpg', 'page.php;x=1.jpg'],
    ['10:30', 'jpg', '10_30.jpg'],
    // Every image extension the name ends in: Instagram's double one (mikf/gallery-dl#2041).
    ['12345_n.webp.jpg', 'jpg', '12345_n.jpg'],
    ['photo.JPG.jpeg', 'jpg', 'photo.jpg'],
    ['v2.png.jpg:orig', 'png', 'v2.png'],
  ]
  for (const [last, ext, expected] of renamed) {
    assert.equal(withExt(name('{name}{ext}', `https://h/${last}`), ext), expected, last)
    assert.equal(withExt(name('{path}{ext}', `https://h/a/${last}`), ext), `a/${expected}`, last)
  }
  assert.match(name('{hash}', url), /^[0-9a-f]{16}$/)
  assert.deepEqual(templateFields('{id}-{slug}{ext}'), ['id', 'slug', 'ext'])
  // A table's columns are named as they are: with a hyphen, a space or a dot.
  assert.deepEqual(templateFields('{alt-text}/{photo id}-{caption.en}{ext}'), [
    'alt-text',
    'photo id',
    'caption.en',
    'ext',
  ])
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
    'https://h/-rf',
    'https://h/--help/-x.png',
  ]
  for (const url of cases) {
    for (const template of ['{name}{ext}', '{path}', '{host}/{name}']) {
      const out = withExt(name(template, url), 'jpg')
      for (const segment of out.split('/')) {
        assert.notEqual(segment, '..', `${url} with ${template} gave ${out}`)
        assert.notEqual(segment, '.', `${url} with ${template} gave ${out}`)
        assert.ok(!segment.startsWith('.'), `${url} with ${template} gave hidden ${out}`)
        assert.ok(!segment.startsWith('-'), `${url} with ${template} gave an option-like ${out}`)
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

test('marks that reorder or hide text never reach a name (a right-to-left override shows a fake extension)', () => {
  assert.equal(withExt(name('{name}{ext}', 'https://h/i/%E2%80%AEgnp.exe1.png'), 'png'), '_gnp.exe1.png')
  for (const mark of ['%E2%80%8B', '%E2%80%8F', '%E2%80%AA', '%E2%81%A6', '%E2%81%A9', '%EF%BB%BF']) {
    assert.equal(withExt(name('{name}{ext}', `https://h/a${mark}b.png`), 'png'), 'a_b.png', mark)
  }
  // Letters of right-to-left scripts are names like any other.
  assert.equal(withExt(name('{name}{ext}', 'https://h/%D7%A9%D7%9C%D7%95%D7%9D.png'), 'png'), 'שלום.png')
})

test('a path is decoded escape by escape: a byte that is no UTF-8 keeps its escape, the others read', () => {
  for (const [url, expected] of [
    ['https://h/caf%C3%A9.png', 'café.png'],
    ['https://h/caf%C3%A9-%E9.png', 'café-%E9.png'],
    ['https://h/caf%E9.png', 'caf%E9.png'],
    ['https://h/100%25-%zz.png', '100%-%zz.png'],
    ['https://h/a%20b/%E6%97%A5-%FF.png', 'a b/日-%FF.png'],
  ]) {
    const template = url.includes('/a%20b/') ? '{path}{ext}' : '{name}{ext}'
    assert.equal(withExt(name(template, url), 'png'), expected, url)
  }
})

test('soft hyphens and invisible operators, which show nothing, are left out of names', () => {
  for (const [url, expected] of [
    ['https://h/soft%C2%ADhy.png', 'softhy.png'],
    ['https://h/%C2%AD.png', '_.png'],
    ['https://h/f%E2%81%A1x%E2%81%A4y.png', 'fxy.png'],
  ]) {
    assert.equal(withExt(name('{name}{ext}', url), 'png'), expected, url)
  }
  assert.equal(
    withExt(
      renderName('{caption}{ext}', {
        url: new URL('https://h/a'),
        index: 1,
        key: 'k',
        fields: { caption: 'Donau\u00addampf' },
      }),
      'jpg',
    ),
    'Donaudampf.jpg',
  )
})

test("a column's file name followed by {ext} gives way to the detected extension, as {name}'s does", () => {
  // COCO's file_name column: `{file_name}{ext}` was 000000397133.jpg.jpg (hvdwolf/jExifToolGUI#256).
  const row = (template: string, value: string) =>
    withExt(
      renderName(template, { url: new URL('https://h/x'), index: 1, key: 'k', fields: { f: value } }),
      'png',
    )
  assert.equal(row('{f}{ext}', '000000397133.jpg'), '000000397133.png')
  assert.equal(row('{f}{ext}', 'Scan.TIFF'), 'Scan.png')
  assert.equal(row('{f}{ext}', 'a.jpg:large'), 'a.png')
  assert.equal(row('{f}{ext}', 'notes.txt'), 'notes.txt.png')
  // Not followed by {ext}, the value is the name as it stands.
  assert.equal(row('{f}', 'a.jpg'), 'a.jpg')
  assert.equal(row('{f}-1{ext}', 'a.jpg'), 'a.jpg-1.png')
})

test('a taken name gets a deterministic suffix before the extension', () => {
  const planned = name('{name}{ext}', 'https://a/cat')
  const a = withSuffix(planned, 'https://a/cat')
  assert.equal(a, withSuffix(planned, 'https://a/cat'))
  assert.notEqual(a, withSuffix(planned, 'https://b/cat'))
  assert.match(withExt(a, 'jpg'), /^cat-[0-9a-f]{8}\.jpg$/)
  assert.equal(safeSegment('..'), '_')
})

test('names Windows and memory cards keep: no device name, no trailing dot or space', () => {
  for (const [segment, safe] of [
    ['con', 'con_'],
    ['NUL', 'NUL_'],
    ['aux.tar', 'aux_.tar'],
    ['com1', 'com1_'],
    ['LPT\u00b9', 'LPT\u00b9_'],
    // The console's own two (PowerShell/PowerShell#13046: a file moved to `CONOUT$` was written to
    // the console, and lost), whose `$` a name may hold.
    ['CONIN$', 'CONIN$_'],
    ['conout$.tar', 'conout$_.tar'],
    ['conout', 'conout'],
    ['console', 'console'],
    ['connect', 'connect'],
    ['sunset.', 'sunset_'],
    ['wait...', 'wait_'],
    ['a. .', 'a_'],
  ])
    assert.equal(safeSegment(segment), safe, segment)
  // Before the extension, a dot ends no name.
  assert.equal(withExt(name('{name}{ext}', 'https://h/wait....png'), 'png'), 'wait....png')
  assert.equal(withExt(name('{name}{ext}', 'https://h/prn.jpg'), 'jpg'), 'prn_.jpg')
  assert.equal(withExt(name('{name}{ext}', 'https://h/CONOUT$.jpg'), 'jpg'), 'CONOUT$_.jpg')
})

test('a URL segment that ends in dots or spaces: the extension before them is found, none doubled or left trailing', () => {
  // Windows and memory cards drop a name's trailing dots and spaces; taken as part of the name,
  // they hid its extension, and `dot.png.` was saved as `dot.png..png`.
  const cases: [string, string, string][] = [
    ['{name}{ext}', 'http://h/dot.png.', 'dot.png'],
    ['{name}{ext}', 'http://h/a.jpg..', 'a.png'],
    ['{name}{ext}', 'http://h/dot.png.?q=1', 'dot.png'],
    ['{name}{ext}', 'http://h/a.png%20', 'a.png'],
    ['{name}{ext}', 'http://h/a.png.%20.', 'a.png'],
    ['{name}{ext}', 'http://h/sunset%2E', 'sunset.png'],
    ['{name}', 'http://h/sunset.', 'sunset'],
    // A segment of dots alone names nothing, as an empty one: the one before it, else the host.
    ['{name}{ext}', 'http://h/x/...', 'x.png'],
    ['{name}{ext}', 'http://h/x/%2E%2E%2E/', 'x.png'],
    ['{name}{ext}', 'http://h/...', 'h.png'],
    ['{path}{ext}', 'http://h/x/dot.png.', 'x/dot.png'],
    ['{path}{ext}', 'http://h/x/...', 'x/_.png'],
    // Dots the URL's name has before its extension are its own (Windows keeps them).
    ['{name}{ext}', 'http://h/wait....png', 'wait....png'],
  ]
  for (const [template, url, expected] of cases) {
    const planned = name(template, url)
    assert.equal(withExt(planned, 'png'), expected, `${template} ${url}`)
    assert.equal(name(template, url), planned, `${url}: the same name on a rerun`)
  }
})

test('a whole name too long for a file system keeps its last segment after a hash of it', () => {
  const deep = `https://h/${Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(150, 'd')).join('/')}/x.png`
  const out = withExt(name('{path}', deep), 'png')
  assert.ok(Buffer.byteLength(out) <= MAX_NAME_BYTES, `${Buffer.byteLength(out)} bytes`)
  assert.match(out, /^[0-9a-f]{16}-x\.png$/)
  assert.notEqual(out, withExt(name('{path}', deep.replace('/0d', '/1d')), 'png'))
  // Names within the limit keep their folders.
  assert.equal(name('{path}', 'https://h/a/b/c.png'), 'a/b/c.png')
  // Followed by {ext}, the URL's own image extension gives way to the detected one, as for {name}.
  for (const [url, ext, expected] of [
    ['https://h/a/b/c.png', 'png', 'a/b/c.png'],
    ['https://h/a/b/c.PNG', 'webp', 'a/b/c.webp'],
    ['https://h/a/b/c', 'jpg', 'a/b/c.jpg'],
    ['https://h/a/b/c.tar', 'jpg', 'a/b/c.tar.jpg'],
    ['https://h/a.png/b.png', 'png', 'a.png/b.png'],
    ['https://h/.png', 'png', '_png.png'],
  ])
    assert.equal(withExt(name('{path}{ext}', url), ext), expected, url)
})

test("imgpull's own files are never an image's name, whatever the case", () => {
  const cases: [string, string, boolean][] = [
    ['{name}', 'https://h/export/manifest.jsonl', true],
    ['{name}', 'https://h/REPORT.HTML', true],
    ['{name}', 'https://h/Attribution.md', true],
    ['{name}{ext}', 'https://h/manifest', false],
    ['{path}', 'https://h/sub/report.html', false],
  ]
  for (const [template, url, reserved] of cases) assert.equal(isReserved(name(template, url)), reserved, url)
})

test("a folder at the top is never named as imgpull's own files either, whatever the case", () => {
  // A folder `manifest.jsonl/` made under `{path}` failed the run's own manifest at its end (a bare
  // EISDIR); `Report.HTML/` beside the report is one name on a case-insensitive disk.
  const cases: [string, string, string][] = [
    ['{path}{ext}', 'https://h/manifest.jsonl/a.jpg', `manifest.jsonl_/a${EXT}`],
    ['{path}{ext}', 'https://h/Report.HTML/b.jpg', `Report.HTML_/b${EXT}`],
    ['{name}/{index}{ext}', 'https://h/ATTRIBUTION.md', `ATTRIBUTION.md_/1${EXT}`],
    ['{path}{ext}', 'https://h/sub/manifest.jsonl/c.jpg', `sub/manifest.jsonl/c${EXT}`],
    ['{path}{ext}', 'https://h/manifest.json/d.jpg', `manifest.json/d${EXT}`],
  ]
  for (const [template, url, planned] of cases) {
    assert.equal(name(template, url), planned, url)
    assert.equal(isReserved(name(template, url)), false, url)
  }
})

test('a folder on the way that is a file: the variant joins the folders into the name', () => {
  const planned = name('{path}{ext}', 'https://h/a.png/b')
  assert.equal(planned, `a.png/b${EXT}`)
  assert.match(withExt(flatVariant(planned, 'k'), 'png'), /^a\.png_b-[0-9a-f]{8}\.png$/)
})

test('a --name that would leave the folder, hide, or pass for an option is said once, with each reason', () => {
  assert.equal(templateRewrites('{name}{ext}'), undefined)
  assert.match(
    templateRewrites('-{name}{ext}') ?? '',
    /a leading - \(it becomes _: rm \* would take it for an option\)/,
  )
  assert.match(templateRewrites('.{name}{ext}') ?? '', /a leading dot/)
  assert.match(templateRewrites('/{name}') ?? '', /a leading \//)
  assert.match(templateRewrites('../{name}') ?? '', /'\.\.' and '\.' segments/)
  // What Windows, exFAT and memory cards refuse, in the template's own text: a `_`, as in a value,
  // where `day:1/img?.jpg` was made as asked and could not be copied there (mikf/gallery-dl#2171).
  assert.match(
    templateRewrites('day:1/{name}?{ext}') ?? '',
    /refuse in a name, < > : " \| \? \* \(each becomes _\)/,
  )
  assert.equal(templateRewrites('{a:b}/{name}{ext}'), undefined, 'a placeholder may hold one')
  // Each rewrite the README lists is said: a device name, a dot or space at a name's end (they
  // were made con_ and pics_ without a word).
  assert.match(templateRewrites('con/{name}{ext}') ?? '', /a name Windows keeps for a device/)
  assert.match(templateRewrites('{name}-nul{ext}/aux{ext}') ?? '', /a name Windows keeps for a device/)
  assert.match(templateRewrites('pics./{name}{ext}') ?? '', /a dot or space at the end of a name/)
  assert.match(templateRewrites('a /{name}{ext}') ?? '', /a dot or space at the end of a name/)
  assert.equal(templateRewrites('console/{name}.{index}{ext}'), undefined)
  const column = renderName('{a:b}{ext}', {
    url: new URL('https://h/x.jpg'),
    index: 1,
    key: 'k',
    fields: { 'a:b': 'v' },
  })
  assert.equal(withExt(column, 'jpg'), 'v.jpg')
  assert.equal(withExt(name('day:1/{name}?{ext}', 'https://h/img.jpg'), 'jpg'), 'day_1/img_.jpg')
  assert.equal(withExt(name('"{name}"*<{index}>|{ext}', 'https://h/a.jpg'), 'png'), '_a___1__.png')
})

test('a name that is nothing but its extension, or blank, never becomes hidden or option-like', () => {
  const cases: [string, string, string][] = [
    ['{name}{ext}', 'https://h/any/%20.jpg', '_.jpg'],
    ['{name}{ext}', 'https://h/any/%20%20.png', '_.jpg'],
    ['{name}{ext}', 'https://h/any/%C2%A0.png', '_.jpg'],
    ['{ext}', 'https://h/a.jpg', '_.jpg'],
    ['{name}{ext}', 'https://h/..jpg', '_.jpg'],
    ['{name}{ext}', 'https://h/-x.jpg', '_x.jpg'],
    ['{name}{ext}', 'https://h/.x.jpg', '_x.jpg'],
    ['pics/{name}{ext}', 'https://h/%20.jpg', 'pics/_.jpg'],
  ]
  for (const [template, url, expected] of cases) {
    const planned = name(template, url)
    assert.equal(withExt(planned, 'jpg'), expected, `${template} ${url}`)
    assert.match(withExt(withSuffix(planned, url), 'jpg'), /^(pics\/)?_/, `${template} ${url}: its variant`)
  }
})

test('names fold as case-insensitive disks fold them: case, composed or decomposed accents', async () => {
  const { nameFold } = await import('../src/utils/name-fold.js')
  for (const [a, b] of [
    ['Cat.jpg', 'cAT.JPG'],
    ['caf\u00e9.jpg', 'cafe\u0301.jpg'],
    ['CAF\u00c9.jpg', 'cafe\u0301.jpg'],
    ['\u017fun.jpg', 'sun.jpg'], // long s: its upper case is S (exFAT's and NTFS's upper-case tables)
    ['\u212a.jpg', 'k.jpg'], // Kelvin sign
  ])
    assert.equal(nameFold(a!), nameFold(b!), `${a} and ${b}`)
  assert.notEqual(nameFold('cat.jpg'), nameFold('cat.png'))
})

test('a name refused as too long: its stem cut with the suffix in its folder, then the hash at the top', () => {
  const planned = name('{path}{ext}', `https://h/a/${'é'.repeat(150)}.jpg`)
  const cut = shortVariant(planned, 'k', 1)
  assert.ok(cut.startsWith('a/'))
  assert.match(cut, new RegExp(`^a/é{59}-[0-9a-f]{8}${EXT}$`))
  // With another suffix (a taken name) and the longest extension, under eCryptfs's 143 bytes.
  assert.ok(Buffer.byteLength(withExt(withSuffix(cut.slice(2), 'k#2'), 'jpeg')) <= 143)
  assert.equal(shortVariant(planned, 'k', 1), cut, 'deterministic')
  assert.match(shortVariant(planned, 'k', 2), new RegExp(`^[0-9a-f]{16}${EXT}$`))
  // A name without {ext}, and one that is a variant already: its suffix is not doubled.
  assert.match(shortVariant(`x/${'n'.repeat(300)}`, 'k', 1), /^x\/n{118}-[0-9a-f]{8}$/)
  assert.match(
    shortVariant(`${'n'.repeat(200)}-0123abcd${EXT}`, 'k', 1),
    new RegExp(`^n{118}-[0-9a-f]{8}${EXT}$`),
  )
})

test("a dot written before {ext} is its own: '{name}.{ext}' is cat.jpg, not cat..jpg, and cat, not cat., unknown", () => {
  // gallery-dl's and yt-dlp's `{filename}.{extension}` habit; {ext} brings its dot.
  const cases: [template: string, url: string, ext: string | undefined, want: string][] = [
    ['{name}.{ext}', 'https://h/a/cat.jpg', 'jpg', 'cat.jpg'],
    ['{name}.{ext}', 'https://h/a/cat.jpg', undefined, 'cat'],
    ['{name}..{ext}', 'https://h/a/cat', 'png', 'cat.png'],
    ['x/{index}.{ext}', 'https://h/a/cat', 'webp', 'x/1.webp'],
    // Followed by its {ext} as {name}'s, the path's last segment is a stem.
    ['{path}.{ext}', 'https://h/a/cat.jpg', 'jpg', 'a/cat.jpg'],
    // A dot elsewhere stays.
    ['{host}.{index}{ext}', 'https://h/a/cat', 'gif', 'h.1.gif'],
  ]
  for (const [template, url, ext, want] of cases)
    assert.equal(withExt(name(template, url), ext), want, template)
})

// A separator beside an empty field went into the name: `{id}-{slug}{ext}` typed out made
// `ID-.jpg` of a photo without a description, where the source's default names it `ID.jpg`
// (J-M-PUNK/tideway#263: ` - Artist - Title`; yt-dlp/yt-dlp#7307: a blank placeholder's separator).
test('a separator beside an empty field goes with it, before it or else after it', () => {
  const url = 'https://h/a.jpg'
  const named = (template: string, fields: Record<string, string>) =>
    withExt(renderName(template, { url: new URL(url), index: 1, key: url, fields }), 'jpg')
  assert.equal(named('{id}-{slug}{ext}', { id: 'ID', slug: '' }), 'ID.jpg')
  assert.equal(named('{id}-{slug}{ext}', { id: 'ID', slug: 'a-lake' }), 'ID-a-lake.jpg')
  assert.equal(named('{slug}-{id}{ext}', { id: 'ID', slug: '' }), 'ID.jpg')
  assert.equal(named('{id} - {user} - {slug}{ext}', { id: 'ID', user: '', slug: 's' }), 'ID - s.jpg')
  assert.equal(named('{user}/{slug}_{id}{ext}', { id: 'ID', user: 'ann', slug: '' }), 'ann/ID.jpg')
  assert.equal(named('{id}.{slug}.{ext}', { id: 'ID', slug: '' }), 'ID.jpg')
})
