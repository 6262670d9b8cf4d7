import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ProgressLine } from '../src/report/progress.js'
import { newTally } from '../src/report/summary.js'
import type { RunStats } from '../src/types.js'
import { CLI, cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { ReflowTerminal, screen } from './support/terminal.js'

// On a real terminal (a pty from util-linux's `script`), with the live progress line.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ bandwidth: 150_000, sizes: [150_000, 200_000] })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/**
 * `command` run by `script` on a pseudo-terminal of its own (stdin written by the test); `raw` is
 * everything the terminal showed so far, `ended` its exit code. The terminal is what a terminal
 * emulator gives, whatever machine the test runs on: `script` runs the command with $SHELL (a
 * login shell of /usr/sbin/nologin ran nothing) and passes TERM on (a CI job's TERM=dumb is no
 * live terminal: no progress line was drawn); `env` may set TERM otherwise.
 */
function onPty(command: string, env?: Record<string, string>) {
  const pty = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm-256color', ...env },
  })
  const term = { pty, raw: '', ended: new Promise<number | null>((resolve) => pty.on('close', resolve)) }
  pty.stdout.setEncoding('utf8').on('data', (d) => {
    term.raw += d
  })
  return term
}

test('on a terminal, Ctrl-C is acknowledged above the progress line and stays there', async () => {
  const list = join(dir, 'tty.txt')
  await writeFile(list, Array.from({ length: 40 }, (_, i) => server.url(`/tty-${i}`)).join('\n'))
  const out = join(dir, 'tty-out')
  // A terminal of 24 rows and 120 columns (one that reports no size is drawn as 80×24: see below).
  // The shell writes its pid, the CLI's once it execs (no pgrep: procps is not on every machine).
  const pidFile = join(dir, 'tty.pid')
  const command = `stty rows 24 cols 120; echo $$ > '${pidFile}'; exec '${process.execPath}' '${CLI}' '${list}' -o '${out}' --grace 1`
  const term = onPty(command)
  const ended = term.ended
  for (let i = 0; i < 200 && !term.raw.includes('active'); i++) await sleep(25)
  assert.ok(term.raw.includes('active'), 'the progress line is drawn')
  await sleep(400)
  // Ctrl-C goes to the CLI (the terminal's foreground process), not to `script`.
  process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGINT')
  assert.equal(await ended, 130)
  const shown = screen(term.raw)
  const stopping = shown.findIndex((l) => l.startsWith('Stopping: finishing transfers in flight'))
  assert.ok(stopping >= 0, `the acknowledgement is on the screen at the end:\n${shown.join('\n')}`)
  // Below it, the line says the run is stopping, where it gave an ETA for the files left to the next run.
  const after = term.raw.slice(term.raw.indexOf('Stopping: '))
  assert.match(after, / · stopping/, after)
  assert.doesNotMatch(after, / · ETA /, after)
  assert.match(shown.at(-1) ?? '', /Run the same command again to continue/)
})

test('a terminal that reports no size (0×0) still shows the progress line', async () => {
  const list = join(dir, 'tty-unsized.txt')
  await writeFile(list, Array.from({ length: 3 }, (_, i) => server.url(`/unsized-${i}`)).join('\n'))
  const out = join(dir, 'tty-unsized-out')
  // `script` under a pipe makes a pty of 0 rows and 0 columns, as `docker exec -t` can before a resize.
  const command = `stty rows 0 cols 0; exec '${process.execPath}' '${CLI}' '${list}' -o '${out}'`
  const term = onPty(command)
  const code = await term.ended
  assert.equal(code, 0, term.raw)
  assert.match(term.raw, /\d+\/3 \(\d+%\) · \d+ active · /, 'the progress line is drawn')
  assert.match(screen(term.raw).join('\n'), /3 images, .* 0 failed/)
})

test('on a terminal of 40 columns, the progress line fits in one row: its least useful figures are left out, none cut in two', async () => {
  const list = join(dir, 'tty-narrow.txt')
  const paths = [...Array.from({ length: 5 }, (_, i) => `/narrow-${i}`), '/gone?status=404']
  await writeFile(list, paths.map((p) => server.url(p)).join('\n'))
  const out = join(dir, 'tty-narrow-out')
  const command = `stty rows 24 cols 40; exec '${process.execPath}' '${CLI}' '${list}' -o '${out}'`
  const term = onPty(command)
  assert.equal(await term.ended, 1, term.raw)
  // Every row the line was drawn on, escape codes left out: it was wrapped into two at 40
  // columns, '2/6 (33%) · 1 failed · 5 active · 540.' above '1 kB · 6.8 MB/s · ETA 3m28s'.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape codes are what it leaves out
  const rows = term.raw.replace(/\x1b\[[?\d;]*[A-Za-z]/g, '').split(/\r?\n|\r/)
  const drawn = rows.filter((r) => r.includes(' · '))
  assert.ok(drawn.length > 0, `the progress line is drawn: ${JSON.stringify(term.raw)}`)
  for (const row of drawn) {
    assert.match(
      row,
      /^\d+\/6 \(\d+%\)/,
      `a row of its own, never the rest of a wrapped one: ${JSON.stringify(rows)}`,
    )
    assert.ok(row.length < 40, `within 39 columns: ${JSON.stringify(row)}`)
  }
  assert.ok(
    drawn.some((r) => / · ETA /.test(r)),
    `the ETA is kept: ${JSON.stringify(drawn)}`,
  )
})

test('a terminal made narrower that re-wraps its rows keeps no stale piece of the progress line, and the messages above it', () => {
  // GNOME Terminal, kitty, iTerm2, tmux... re-wrap a row cut by a resize into two, the cursor
  // kept at its character. log-update left the cursor on the row below the line and erased the
  // one row it had drawn: '40/100 (40%) · 5 failed · 4 active · 12' stayed above the line redrawn
  // at 40 columns, one such row a resize (tqdm/tqdm#783).
  const term = new ReflowTerminal(120)
  const stream = { columns: 120, write: (text: string) => term.write(text) }
  const tally = { ...newTally(), ok: 20, skipped: 5, failed: 5 }
  const stats = { active: 4, bytes: 12_345_678, duplicates: 10, waitLeft: 0 } as RunStats
  term.write('$ imgpull urls.txt -o photos\n')
  const line = new ProgressLine(undefined, tally, stats, () => 100, stream)
  try {
    line.print('failed http-404: https://a.test/1.jpg')
    assert.match(term.lines().at(-1) ?? '', /^40\/100 \(40%\) · 5 failed · 4 active · 12\.3 MB · /)
    term.resize(40)
    stream.columns = 40
    line.render()
    line.print('failed http-404: https://a.test/2.jpg')
    const [command, first, second, drawn, ...rest] = term.lines()
    assert.deepEqual(
      [command, first, second, rest],
      [
        '$ imgpull urls.txt -o photos',
        'failed http-404: https://a.test/1.jpg',
        'failed http-404: https://a.test/2.jpg',
        [],
      ],
      term.lines().join('\n'),
    )
    assert.match(drawn, /^40\/100 \(40%\) · 5 failed/)
    assert.ok(drawn.length < 40, drawn)
  } finally {
    line.stop()
  }
  assert.equal(term.lines().length, 3, 'the line is gone once the run is')
})

test('a dumb terminal (TERM=dumb: Emacs M-x shell) gets plain lines, no escape code', async () => {
  const list = join(dir, 'tty-dumb.txt')
  await writeFile(
    list,
    [...Array.from({ length: 3 }, (_, i) => server.url(`/dumb-${i}`)), server.url('/gone?status=404')].join(
      '\n',
    ),
  )
  const out = join(dir, 'tty-dumb-out')
  // A pty, as Emacs gives its shell buffers, with the TERM it sets there.
  const command = `stty rows 24 cols 120; TERM=dumb exec '${process.execPath}' '${CLI}' '${list}' -o '${out}'`
  const term = onPty(command, { TERM: 'dumb' })
  const code = await term.ended
  assert.equal(code, 1, term.raw)
  assert.ok(!term.raw.includes('\x1b'), `no escape code reaches a dumb terminal: ${JSON.stringify(term.raw)}`)
  assert.match(term.raw, /^failed http-404: HTTP 404 from /m)
  assert.match(term.raw, /3 images, .* 1 failed/)
})

/**
 * `args` run with a progress line every 0.1 s in a log, of a list whose third file is held back
 * until a progress line came to stderr (or 8 s passed: the test then fails on its lines): the
 * run is silent for as long as it likes otherwise, and CI runners end a job after 10 minutes
 * without output. `jsonOnStderr`: stdout is stderr (`2>&1`), the lines of both in `stderr`.
 */
async function heldForProgress(name: string, args: string[], jsonOnStderr = false) {
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const slow = await startImageServer({ hold: (p) => (p === `/${name}-held` ? held : undefined) })
  try {
    const list = join(dir, `${name}.txt`)
    const paths = [`/${name}-0`, `/${name}-1`, `/${name}-held`, '/gone?status=404']
    await writeFile(list, paths.map((p) => slow.url(p)).join('\n'))
    const { child, done } = startCli([list, '-o', join(dir, `${name}-out`), ...args], {
      env: { IMGPULL_PROGRESS_INTERVAL: '0.1', CI: 'true' },
      ...(jsonOnStderr ? { wrap: ['sh', '-c', 'exec "$0" "$@" 2>&1'] } : {}),
    })
    // Never a hang: without any progress line the file is let go after 8 s (2>&1: 1 s, as none
    // should come), and the test fails.
    setTimeout(() => release(), jsonOnStderr ? 1000 : 8000).unref()
    let stderr = ''
    child.stderr?.on('data', (d) => {
      stderr += d
      if (/^imgpull: \d+\/4 \(\d+%\) · /m.test(stderr)) release()
    })
    const r = await done
    assert.equal(r.code, 1, r.stderr)
    assert.ok(
      !r.stderr.includes('\r') && !r.stderr.includes('\x1b'),
      `plain lines only: ${JSON.stringify(r.stderr)}`,
    )
    return r
  } finally {
    release()
    await slow.close()
  }
}

const progressLine = /^imgpull: \d+\/4 \(\d+%\) (· 1 failed )?· \d+ active · [\d.]+ k?B · [\d.]+ k?B\/s/m

test('without a terminal (a CI log): a plain progress line every IMGPULL_PROGRESS_INTERVAL seconds, no CR or escape', async () => {
  const r = await heldForProgress('ci', [])
  assert.match(r.stderr, progressLine)
  assert.match(r.stderr, /^failed http-404: /m)
  assert.match(r.stderr, /3 images, .* 1 failed/)
})

test('--json lines sent elsewhere (> results.jsonl, | jq in a CI job) leave the log its progress lines (it was silent the whole run: chromatic-cli#675); 2>&1, none among them', async () => {
  const r = await heldForProgress('ci-json', ['--json'])
  assert.match(r.stderr, progressLine)
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines.length, 5, r.stdout)
  for (const line of lines) JSON.parse(line)
  // Into one stream with the JSON lines (`2>&1`, one terminal), every line is still JSON.
  const mixed = await heldForProgress('ci-json-mixed', ['--json'], true)
  const all = mixed.stdout.trim().split('\n')
  assert.equal(all.length, 5, mixed.stdout)
  for (const line of all) JSON.parse(line)
})

test('IMGPULL_PROGRESS_INTERVAL that is not a number of seconds is a usage error naming it', async () => {
  const r = await runCli([server.url('/never'), '-o', join(dir, 'bad-interval')], {
    env: { IMGPULL_PROGRESS_INTERVAL: 'often' },
  })
  assert.equal(r.code, 2)
  assert.match(
    r.stderr,
    /^imgpull: IMGPULL_PROGRESS_INTERVAL must be a number of seconds between progress lines \(0: none\), got "often"/,
  )
  assert.equal(server.log.filter((l) => l.url === '/never').length, 0, 'nothing fetched')
})

test('- read from a terminal: once a typed URL is done, the progress line stays still, and what is typed next stays on screen', async () => {
  // The rate fell by a fifth a frame with nothing in flight (1.6 MB/s, 1.3, 1.0 ... 112 B/s over
  // 6 s), and each redraw erased the line below it, where the next URL was being typed.
  const out = join(dir, 'tty-idle')
  const command = `stty rows 24 cols 120; exec '${process.execPath}' '${CLI}' - -o '${out}'`
  const term = onPty(command)
  const ended = term.ended
  try {
    for (let i = 0; i < 200 && !term.raw.includes('Ctrl-D'); i++) await sleep(25)
    term.pty.stdin.write(`${server.url('/idle-0')}\n`)
    for (let i = 0; i < 400 && !/1 done · 0 active/.test(term.raw); i++) await sleep(25)
    assert.match(term.raw, /1 done · 0 active/, 'the typed URL is done')
    await sleep(300)
    const typed = server.url('/idle-1')
    term.pty.stdin.write(typed)
    const before = term.raw.length
    await sleep(1500)
    // log-update hides the cursor on every frame, drawn or not: only an erase would wipe the URL.
    const since = term.raw.slice(before)
    assert.ok(
      since.startsWith(typed) && !since.includes('\x1b[2K'),
      `nothing erased: ${JSON.stringify(since)}`,
    )
    assert.equal(screen(term.raw).at(-1), typed)
    term.pty.stdin.write('\n\x04')
    assert.equal(await ended, 0, term.raw)
  } finally {
    term.pty.stdin.end()
  }
  assert.match(screen(term.raw).join('\n'), /2 images, .* 0 failed/)
})

test('- read from a terminal says so, and what ends the list; piped, it says nothing', async () => {
  // `imgpull - -o photos` on a terminal waited for typed URLs without a word, as if it hung.
  const out = join(dir, 'tty-typed')
  const command = `exec '${process.execPath}' '${CLI}' - -o '${out}'`
  const term = onPty(command)
  const ended = term.ended
  try {
    for (let i = 0; i < 200 && !term.raw.includes('terminal'); i++) await sleep(25)
    assert.match(
      term.raw,
      /^imgpull: reading URLs from the terminal \(standard input, -\), one a line; Ctrl-D ends the list\r?$/m,
    )
    term.pty.stdin.write(`${server.url('/typed-0')}\n`)
    await sleep(200)
    term.pty.stdin.write('\x04')
    assert.equal(await ended, 0, term.raw)
  } finally {
    // A failed check leaves the run waiting for the list's end: the pty's end is its end.
    term.pty.stdin.end()
  }
  assert.match(screen(term.raw).join('\n'), /1 image, .* 0 failed/)
  const piped = await runCli(['-', '-o', join(dir, 'tty-piped')], { input: `${server.url('/typed-1')}\n` })
  assert.equal(piped.code, 0, piped.stderr)
  assert.doesNotMatch(piped.stderr, /terminal/)
})
