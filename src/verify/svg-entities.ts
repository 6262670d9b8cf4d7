import { quoted } from '../utils/printable.js'
import { svgRoot } from './svg.js'

/**
 * The XML entities an SVG declares in its document type's internal subset (XML 1.0 §4.2), and
 * whether they build on each other: the "billion laughs" (nine levels of ten references each, 3 GB
 * of text from 1 KB). libxml2, under librsvg, stops the worst of them after a few milliseconds with
 * its own words ("Maximum entity amplification factor exceeded"); a smaller tower (four levels:
 * 10,000 copies) passes it and costs the renderer a minute of text layout. Editors declare flat
 * entities only (Illustrator's `<!ENTITY ns_svg "http://www.w3.org/2000/svg">`), and those are kept.
 */

/** Why an SVG's entities are refused: the entity and what it expands to, in characters. */
export interface EntityExpansion {
  /** The entity that builds on others (the largest expansion), or the parameter entity declared. */
  entity: string
  /** Characters its replacement text expands to; `Infinity` for a loop. Absent for a parameter entity. */
  characters?: number
  /** `nested`: a general entity referring to another; `parameter`: a parameter entity declared. */
  kind: 'nested' | 'parameter'
}

/** The five entities XML predefines (§4.6): never declared, never expanded further. */
const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos'])

/** An entity declaration: `<!ENTITY`, an optional `%`, the name, then a literal or an external id. */
const DECLARATION = /<!ENTITY\s+(%\s+)?([^\s%&;>"']+)\s*(?:"([^"]*)"|'([^']*)')?/g
/** A general entity reference in a replacement text (not a character reference). */
const REFERENCE = /&([^#;\s&]+);/g

/**
 * The entity that makes an SVG's text grow through other entities, or `undefined` when its
 * internal subset declares none that builds on another (or no subset at all). Reads the markup
 * before the root element (within `SVG_WINDOW`), comments set aside. Pure; never throws.
 * - a general entity whose replacement text refers to another declared entity (`nested`), with
 *   the size the largest such one expands to (a loop is `Infinity`);
 * - a parameter entity (`<!ENTITY % name ...>`, `parameter`): it can declare the others in turn.
 */
export function entityExpansion(svg: Uint8Array): EntityExpansion | undefined {
  const root = svgRoot(svg)
  if (!root) return undefined
  const prolog = Buffer.from(svg.buffer, svg.byteOffset, root.start)
    .toString('utf8')
    .replace(/<!--[\s\S]*?-->/g, '')
  if (!prolog.includes('<!ENTITY')) return undefined
  const values = new Map<string, string>()
  for (const m of prolog.matchAll(DECLARATION)) {
    if (m[1]) return { entity: m[2], kind: 'parameter' }
    // The first declaration of a name binds (§4.2); an external one has no text here.
    if (!values.has(m[2])) values.set(m[2], m[3] ?? m[4] ?? '')
  }
  const sizes = new Map<string, number>()
  const size = (name: string, open: Set<string>): number => {
    const known = sizes.get(name)
    if (known !== undefined) return known
    const value = values.get(name)
    if (value === undefined || open.has(name)) return open.has(name) ? Number.POSITIVE_INFINITY : 0
    open.add(name)
    let total = value.length
    for (const ref of value.matchAll(REFERENCE)) {
      if (PREDEFINED.has(ref[1]) || !values.has(ref[1])) continue
      total += size(ref[1], open) - ref[0].length
    }
    open.delete(name)
    sizes.set(name, total)
    return total
  }
  let worst: EntityExpansion | undefined
  for (const [name, value] of values) {
    const nested = [...value.matchAll(REFERENCE)].some((ref) => !PREDEFINED.has(ref[1]) && values.has(ref[1]))
    if (!nested) continue
    const characters = size(name, new Set())
    if (!worst || characters > worst.characters!) worst = { entity: name, characters, kind: 'nested' }
  }
  return worst
}

/** The failure line's words for `found`: what the SVG does, without libxml2's. */
export function entityMessage(found: EntityExpansion): string {
  if (found.kind === 'parameter')
    return `an SVG with XML entity expansion: it declares the parameter entity "${quoted(found.entity, 40)}" (entities that declare entities); not rendered`
  const grows = Number.isFinite(found.characters)
    ? `expands to ${found.characters} characters`
    : 'refers back to itself'
  return `an SVG with XML entity expansion: its entity "${quoted(found.entity, 40)}" is built of other entities and ${grows} (a "billion laughs"); not rendered`
}
