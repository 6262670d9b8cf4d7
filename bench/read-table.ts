/**
 * Read tables through the table source as the engine would, and print rows/s, CPU, time to the
 * first row and peak RSS (what issue 14 asks to measure):
 *   node --import tsx bench/read-table.ts TABLE... [--caption-col C] [--hash-col C]
 * Make a table first with bench/make-table.ts. Times from process start include module loading.
 */
import { openTables } from '../src/sources/tables/index.js'

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i >= 0 ? args.splice(i, 2)[1] : undefined
}
const captionCol = flag('--caption-col')
const hashCol = flag('--hash-col')
if (args.length === 0) {
  console.error('usage: read-table.ts TABLE... [--caption-col C] [--hash-col C]')
  process.exit(2)
}

const start = performance.now()
const cpu0 = process.cpuUsage()
const source = await openTables(args, { captionCol, hashCol })
let rows = 0
let first = 0
let invalid = 0
for await (const job of source) {
  if (rows === 0) first = performance.now()
  rows++
  if (job.invalid) invalid++
}
const seconds = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpu0)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
const rss = process.resourceUsage().maxRSS / 1024
console.log(
  [
    `${args.join(' ')}: ${rows.toLocaleString('en')} rows (${invalid} invalid)`,
    `${seconds.toFixed(2)} s = ${Math.round(rows / seconds).toLocaleString('en')} rows/s`,
    `CPU ${cpuSeconds.toFixed(2)} s`,
    `first row ${(first - start).toFixed(0)} ms after opening, ${first.toFixed(0)} ms after process start`,
    `peak RSS ${rss.toFixed(0)} MB`,
  ].join(', '),
)
