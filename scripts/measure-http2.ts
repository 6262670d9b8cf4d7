// HTTP/2 against HTTP/1.1 on the same files: connections and streams per origin, and wall time.
//
//   node --import tsx scripts/measure-http2.ts [files=240] [size=60000] [ttfb-ms=80] [max-streams=8,100]
//
// A TLS server (HTTP/2 by ALPN, HTTP/1.1 too) runs in a child process on 127.0.0.1 and serves
// `files` images of `size` bytes, each after `ttfb` ms, announcing SETTINGS_MAX_CONCURRENT_STREAMS
// of each value given. imgpull (the library, default options, no journal) fetches them all with
// HTTP/2 and with --no-http2; runs alternate, three of each, and the medians are printed. The
// certificate is trusted through NODE_EXTRA_CA_CERTS (the script re-runs itself with it set).
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startH2Server } from '../test/support/h2-server.js'
import { makeImage } from '../test/support/images.js'

const [files = 240, size = 60_000, ttfb = 80] = process.argv.slice(2, 5).map(Number)
const limits = (process.argv[5] ?? '8,100').split(',').map(Number)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

if (process.env.MEASURE_SERVE) {
  // The server side: prints its origin, answers `stats` on stdin with one JSON line.
  const [certDir, maxStreams] = process.env.MEASURE_SERVE.split(',')
  const bodies = Array.from({ length: files }, (_, i) => makeImage(`f-${i}`, size))
  const tls = { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) }
  const server = await startH2Server(
    tls,
    async (req, res) => {
      await sleep(ttfb)
      const body = bodies[Number(req.url.slice(3))]
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
      res.end(body)
    },
    { maxStreams: Number(maxStreams) },
  )
  console.log(server.origin)
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') console.log(JSON.stringify(server.perConnection()))
  }
  await server.close()
  process.exit(0)
}

const certDir = process.env.MEASURE_CERTS ?? mkdtempSync(join(tmpdir(), 'imgpull-h2-'))
if (!process.env.MEASURE_CERTS) {
  const key = join(certDir, 'key.pem')
  const cert = join(certDir, 'cert.pem')
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1']
  const san = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']
  execFileSync('openssl', ['req', '-x509', ...ec, ...san, '-keyout', key, '-out', cert], { stdio: 'ignore' })
  // Again, with the certificate trusted from the start, as a user with a private CA would.
  execFileSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MEASURE_CERTS: certDir, NODE_EXTRA_CA_CERTS: cert },
  })
  rmSync(certDir, { recursive: true, force: true })
  process.exit(0)
}

const { pull } = await import('../src/index.js')
const script = fileURLToPath(import.meta.url)

async function startServer(maxStreams: number) {
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    env: { ...process.env, MEASURE_SERVE: `${certDir},${maxStreams}` },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const origin = (await lines.next()).value as string
  return {
    origin,
    stats: async () => {
      child.stdin!.write('stats\n')
      return JSON.parse((await lines.next()).value as string) as { maxStreams: number }[]
    },
    close: () => {
      child.stdin!.end()
      return new Promise((resolve) => child.on('close', resolve))
    },
  }
}

for (const maxStreams of limits) {
  const rows: Record<string, { ms: number[]; connections: number[]; maxStreams: number[] }> = {
    h2: { ms: [], connections: [], maxStreams: [] },
    'http/1.1': { ms: [], connections: [], maxStreams: [] },
  }
  for (let round = 0; round < 3; round++) {
    for (const http2 of [true, false]) {
      const server = await startServer(maxStreams)
      const out = join(certDir, `out-${maxStreams}-${http2}-${round}`)
      const urls = Array.from({ length: files }, (_, i) => `${server.origin}/f-${i}`)
      const started = performance.now()
      let ok = 0
      for await (const r of pull(urls, { out, journal: false, http2 })) if (r.status === 'ok') ok++
      const ms = performance.now() - started
      if (ok !== files) throw new Error(`${ok} of ${files} ok`)
      const per = await server.stats()
      const row = rows[http2 ? 'h2' : 'http/1.1']
      row.ms.push(ms)
      row.connections.push(per.length)
      row.maxStreams.push(Math.max(...per.map((c) => c.maxStreams)))
      await server.close()
      rmSync(out, { recursive: true, force: true })
    }
  }
  console.log(
    `server allows ${maxStreams} streams; ${files} files of ${size} bytes, ${ttfb} ms to first byte`,
  )
  for (const [protocol, row] of Object.entries(rows)) {
    const runs = row.ms.map((m) => m.toFixed(0)).join(', ')
    console.log(
      `  ${protocol.padEnd(8)} ${median(row.ms).toFixed(0).padStart(6)} ms   connections ${median(row.connections)}   most streams on one connection ${median(row.maxStreams)}   (runs: ${runs} ms)`,
    )
  }
}
