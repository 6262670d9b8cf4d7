import { quoted } from '../utils/printable.js'

/**
 * The `<use>` elements an SVG draws, counted through the elements they refer to: the "billion
 * laughs" in SVG's own terms, without entities (a group of ten `<use>` of a group of ten `<use>`
 * ..., nine levels: 10^9 shapes from 1 KB; linebender/resvg#186, instructure/canvas-lms#2325).
 * librsvg stops after `USE_LIMIT` references, but only once it has drawn them: a worker spent 30 s
 * on such a 2 KB file and said only "svgload_buffer: SVG rendering failed", twice (the transform,
 * then the decode that tells whose fault it was).
 */

/** librsvg's own limit on elements referenced while drawing (`MAX_REFERENCED_ELEMENTS`): past it, it fails. */
export const USE_LIMIT = 500_000

/** Elements whose content is drawn only where something refers to them (SVG 2 §5.6, §5.5, §14). */
const NOT_DRAWN = new Set(['defs', 'symbol', 'clipPath', 'mask', 'pattern', 'marker'])

// A start, end or empty-element tag (comments and CDATA sections are taken out first).
const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g
const ID = /(?:^|\s)id\s*=\s*(?:"([^"]*)"|'([^']*)')/
const HREF = /(?:^|\s)(?:[\w.-]+:)?href\s*=\s*(?:"\s*#([^"]*)"|'\s*#([^']*)')/

type Refs = Map<string, number>

function add(into: Refs, target: string, count: number): void {
  into.set(target, (into.get(target) ?? 0) + count)
}

/** What an SVG's `<use>` elements come to: the element most drawn through them, and all the references. */
export interface UseExpansion {
  /** The element referred to whose references weigh most. */
  element: string
  /** References librsvg follows to draw the document, at least. */
  references: number
}

/**
 * How many references librsvg follows to draw `svg` through its `<use>` elements (each `<use>`
 * drawn, inside the elements it draws in turn), when more than `USE_LIMIT`; `undefined` within
 * it. Only what is drawn counts: a `<use>` inside `<defs>` or `<symbol>` counts where it is
 * referred to. A reference back to an element being drawn counts nothing (librsvg draws nothing
 * for it). Pure; never throws.
 */
export function useExpansion(svg: Uint8Array): UseExpansion | undefined {
  const text = Buffer.from(svg.buffer, svg.byteOffset, svg.byteLength).toString('latin1')
  if (!/<(?:[\w.-]+:)?use[\s/>]/.test(text)) return undefined
  const markup = text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, '')
  const byId = new Map<string, Refs>()
  const drawn: Refs = new Map()
  const stack: { name: string; id?: string; refs: Refs; hidden: boolean }[] = []
  const close = () => {
    const frame = stack.pop()!
    if (frame.id !== undefined && !byId.has(frame.id)) byId.set(frame.id, frame.refs)
    const parent = stack.at(-1)
    if (parent) for (const [target, count] of frame.refs) add(parent.refs, target, count)
  }
  for (const [, end, name, attributes, empty] of markup.matchAll(TAG)) {
    const local = name.slice(name.indexOf(':') + 1)
    if (end) {
      // An end tag closes what it names and whatever was left open inside it.
      const at = stack.findLastIndex((frame) => frame.name === name)
      while (at >= 0 && stack.length > at) close()
      continue
    }
    const idMatch = ID.exec(attributes)
    const hidden = (stack.at(-1)?.hidden ?? false) || NOT_DRAWN.has(local)
    stack.push({ name, id: idMatch ? (idMatch[1] ?? idMatch[2]) : undefined, refs: new Map(), hidden })
    if (local === 'use') {
      const href = HREF.exec(attributes)
      const target = href ? (href[1] ?? href[2]).trim() : undefined
      if (target) {
        add(stack.at(-1)!.refs, target, 1)
        if (!hidden) add(drawn, target, 1)
      }
    }
    if (empty) close()
  }
  while (stack.length > 0) close()
  const weights = new Map<string, number>()
  const drawing = new Set<string>()
  // The references drawing `id` follows: those of its own `<use>` elements, each with its target's.
  const weight = (id: string): number => {
    const known = weights.get(id)
    if (known !== undefined) return known
    if (drawing.has(id)) return 0
    drawing.add(id)
    let sum = 0
    for (const [target, count] of byId.get(id) ?? []) {
      sum += count * (1 + weight(target))
      if (sum > Number.MAX_SAFE_INTEGER) break
    }
    drawing.delete(id)
    weights.set(id, sum)
    return sum
  }
  let references = 0
  let element = ''
  let most = -1
  for (const [target, count] of drawn) {
    const each = count * (1 + weight(target))
    references += each
    if (each > most) [most, element] = [each, target]
  }
  return references > USE_LIMIT ? { element, references } : undefined
}

/** The one-line refusal of an SVG whose `<use>` elements multiply (see `useExpansion`). */
export function useMessage(found: UseExpansion): string {
  const references =
    found.references > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : String(Math.round(found.references))
  return `an SVG whose <use> elements multiply: drawing it follows ${references} references through "${quoted(found.element, 40)}", more than librsvg's ${USE_LIMIT} (a "billion laughs" of <use>); not rendered`
}
