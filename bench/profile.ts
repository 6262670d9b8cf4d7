import { readFileSync } from 'node:fs'

/**
 * Summarize a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by where the
 * code lives (imgpull's own files, each dependency, Node internals, GC). Only the main thread is
 * sampled: file writes in libuv's thread pool and kernel time show up in GNU time's figures, not
 * here.
 *
 * Also runnable on its own: `node --import tsx bench/profile.ts FILE.cpuprofile`.
 */
interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  /** Sampled ms, idle excluded. */
  busy: number
  /** Wall ms of the profile. */
  wall: number
  idle: number
  byPlace: { place: string; ms: number }[]
  top: { fn: string; place: string; ms: number }[]
}

/** Where a frame's code lives: `imgpull src/fetch/download`, `undici`, `node:fs`, `(gc)`... */
export function place(frame: CallFrame): string {
  const { url, functionName } = frame
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)'
    if (functionName === '(idle)') return '(idle)'
    if (functionName === '(program)') return '(program: V8/native, not JS)'
    return '(native)'
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]
  const own = /\/dist\/(.+)\.js$/.exec(url)
  if (own) return `imgpull ${own[1]}`
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+(?:\/[a-z_]+)?)/.exec(url)
    return `node:${m ? m[1] : url.slice(5)}`
  }
  return url
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const byPlace = new Map<string, number>()
  const byFn = new Map<string, { fn: string; place: string; ms: number }>()
  let idle = 0
  let total = 0
  for (const [id, us] of self) {
    const node = byId.get(id)
    if (!node) continue
    const ms = us / 1000
    total += ms
    const where = place(node.callFrame)
    if (where === '(idle)') {
      idle += ms
      continue
    }
    byPlace.set(where, (byPlace.get(where) ?? 0) + ms)
    const { functionName, url, lineNumber } = node.callFrame
    const fn = `${functionName || '(anonymous)'}${url ? ` ${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : ''}`
    const entry = byFn.get(fn) ?? { fn, place: where, ms: 0 }
    entry.ms += ms
    byFn.set(fn, entry)
  }
  return {
    busy: total - idle,
    idle,
    wall: (profile.endTime - profile.startTime) / 1000,
    byPlace: [...byPlace].map(([p, ms]) => ({ place: p, ms })).sort((a, b) => b.ms - a.ms),
    top: [...byFn.values()].sort((a, b) => b.ms - a.ms).slice(0, top),
  }
}

export function formatProfile(s: ProfileSummary, places = 12): string[] {
  const pct = (ms: number) => `${((100 * ms) / s.busy).toFixed(1).padStart(5)}%`
  const lines = [
    `main thread: ${(s.busy / 1000).toFixed(2)} s busy, ${(s.idle / 1000).toFixed(2)} s idle, over ${(s.wall / 1000).toFixed(2)} s`,
    'self time by place:',
    ...s.byPlace
      .slice(0, places)
      .map((p) => `  ${pct(p.ms)} ${(p.ms / 1000).toFixed(2).padStart(6)} s  ${p.place}`),
    'top functions (self time):',
    ...s.top.map((f) => `  ${pct(f.ms)} ${(f.ms / 1000).toFixed(2).padStart(6)} s  ${f.fn}`),
  ]
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    console.log(`${file}:`)
    for (const line of formatProfile(summarizeProfile(file))) console.log(line)
  }
}
