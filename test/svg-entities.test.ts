import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { USE_LIMIT, useExpansion, useMessage } from '../src/transform/svg-uses.js'
import { type EntityExpansion, entityExpansion, entityMessage } from '../src/verify/svg-entities.js'

const svg = (subset: string, body = '') =>
  Buffer.from(
    `<?xml version="1.0"?>\n<!DOCTYPE svg [\n${subset}\n]>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">${body}</svg>`,
  )
const laughs = (levels: number) => {
  let subset = '<!ENTITY lol "lol">'
  let previous = 'lol'
  for (let i = 1; i <= levels; i++) {
    subset += `\n<!ENTITY lol${i} "${`&${previous};`.repeat(10)}">`
    previous = `lol${i}`
  }
  return svg(subset, `<text>&${previous};</text>`)
}

test('entityExpansion: entities that build on others are found, with what the largest expands to', () => {
  const cases: [name: string, file: Buffer, expected: EntityExpansion | undefined][] = [
    ['no doctype', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), undefined],
    [
      'Illustrator: flat entities, a comment in the subset',
      readFileSync(new URL('./fixtures/images/illustrator.svg', import.meta.url)),
      undefined,
    ],
    ['billion laughs', laughs(9), { entity: 'lol9', characters: 3_000_000_000, kind: 'nested' }],
    [
      'one level',
      svg('<!ENTITY a "x"><!ENTITY b \'&a;&a;\'>'),
      { entity: 'b', characters: 2, kind: 'nested' },
    ],
    [
      'a loop',
      svg('<!ENTITY a "&b;"><!ENTITY b "&a;">'),
      { entity: 'a', characters: Number.POSITIVE_INFINITY, kind: 'nested' },
    ],
    [
      'itself',
      svg('<!ENTITY a "x&a;">'),
      { entity: 'a', characters: Number.POSITIVE_INFINITY, kind: 'nested' },
    ],
    ['a parameter entity', svg('<!ENTITY % p "<!ENTITY a \'x\'>"> %p;'), { entity: 'p', kind: 'parameter' }],
    ['predefined and character references', svg('<!ENTITY a "&amp;&lt;&#38;&#x26;">'), undefined],
    ['a reference to an undeclared entity', svg('<!ENTITY a "&nowhere;">'), undefined],
    ['a tower in a comment', svg('<!-- <!ENTITY a "x"><!ENTITY b "&a;&a;"> --><!ENTITY c "y">'), undefined],
    [
      'an external entity',
      svg('<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY f "&e;">'),
      { entity: 'f', characters: 0, kind: 'nested' },
    ],
    ['the first declaration binds', svg('<!ENTITY a "x"><!ENTITY a "&b;"><!ENTITY b "y">'), undefined],
    ['not an SVG', Buffer.from('<!DOCTYPE html [<!ENTITY a "x"><!ENTITY b "&a;">]><html></html>'), undefined],
  ]
  for (const [name, file, expected] of cases) assert.deepEqual(entityExpansion(file), expected, name)
  // Cut anywhere, noise anywhere: never throws.
  const bomb = laughs(9)
  for (let n = 0; n <= bomb.length; n++) entityExpansion(bomb.subarray(0, n))
  for (let i = 0; i < bomb.length; i += 7)
    entityExpansion(Buffer.concat([bomb.subarray(0, i), Buffer.from([0xff, 0x22, 0x3e]), bomb.subarray(i)]))
})

test('entityMessage: one line naming the entity, its control characters shown, not acted on', () => {
  assert.equal(
    entityMessage({ entity: 'lol9', characters: 3_000_000_000, kind: 'nested' }),
    'an SVG with XML entity expansion: its entity "lol9" is built of other entities and expands to 3000000000 characters (a "billion laughs"); not rendered',
  )
  assert.match(
    entityMessage({ entity: 'a', characters: Number.POSITIVE_INFINITY, kind: 'nested' }),
    /"a" is built of other entities and refers back to itself/,
  )
  assert.match(entityMessage({ entity: 'p\x1b[2J', kind: 'parameter' }), /parameter entity "p\\x1b\[2J"/)
})

/** A tower of `<use>`: `levels` groups of ten `<use>` of the one below, in `<defs>`, the top drawn `top` times. */
const useTower = (levels: number, top: number, prefix = 'xlink:') => {
  let defs = '<rect id="a0" width="1" height="1"/>'
  for (let i = 1; i <= levels; i++)
    defs += `<g id="a${i}">${`<use ${prefix}href="#a${i - 1}"/>`.repeat(10)}</g>`
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><defs>${defs}</defs>${`<use ${prefix}href="#a${levels}"/>`.repeat(top)}</svg>`,
  )
}

test('useExpansion: the references librsvg follows through <use>, refused past its own limit only (linebender/resvg#186)', () => {
  // 4 x 111,111 draws (librsvg renders it, in 7 s); 5 x 111,111 fails in librsvg ("exceeded more
  // than 500000 referenced elements"), after it has drawn them.
  assert.equal(useExpansion(useTower(5, 4)), undefined)
  assert.deepEqual(useExpansion(useTower(5, 5)), { element: 'a5', references: 555_555 })
  assert.deepEqual(useExpansion(useTower(9, 1, '')), { element: 'a9', references: 1_111_111_111 })
  // Not drawn: a tower in <defs> that nothing draws, one in a comment, a use of itself.
  const unused = useTower(9, 0)
  assert.equal(useExpansion(unused), undefined)
  const commented = Buffer.from(
    useTower(9, 1)
      .toString()
      .replace('<use xlink:href="#a9"/></svg>', '<!-- <use xlink:href="#a9"/> --></svg>'),
  )
  assert.equal(useExpansion(commented), undefined)
  assert.equal(
    useExpansion(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="x"><use href="#x"/></g><use href="#x"/></svg>',
      ),
    ),
    undefined,
  )
  const message = useMessage(useExpansion(useTower(9, 1))!)
  assert.equal(
    message,
    `an SVG whose <use> elements multiply: drawing it follows 1111111111 references through "a9", more than librsvg's ${USE_LIMIT} (a "billion laughs" of <use>); not rendered`,
  )
})
