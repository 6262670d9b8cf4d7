import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { exitAfterStdout, readerGoneBy, stdoutFaultWords } from '../src/cli/std-streams.js'
import { STOP_SIGNALS, stoppingLine } from '../src/cli/stop-words.js'
import { ownChild } from './support/children.js'
import { CLI, cleanup, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { until } from './support/wait.js'

// Runs stopped the ways the side-by-side bench `bench/misbehave-stops.ts` stops them that other
// tests do not: standard streams that cannot be written (`> /dev/full`, `2>&1 | head`, a terminal
// hung up) and SIGHUP. The run goes on or stops cleanly, never with a stack trace or an exit code
// that says files failed; nothing cut is left under a final name, and a rerun finishes.

let server: ImageServer
let dir: string
before(async () => {
  // 30 kB/s an answer: a run of 30 images lasts seconds, through several progress lines.
  server = await startImageServer({ sizes: [20_000, 40_000], bandwidth: 30_000 })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const list = async (name: string, n: number) => {
  const file = join(dir, `${name}.txt`)
  const urls = Array.from({ length: n }, (_, i) => server.url(`/${name}/img${i}.jpg`))
  await writeFile(file, `${urls.join('\n')}\n`)
  return file
}

/** Runs the CLI with stdout and stderr as given: a path (`/dev/full`), `pipe`, or `closed-pipe` (its reader gone at once). */
function run(
  args: string[],
  stdout: string,
  stderr: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const fd = (to: string): 'pipe' | number =>
    to === 'pipe' || to === 'closed-pipe' ? 'pipe' : openSync(to, 'w')
  const [out, err] = [fd(stdout), fd(stderr)]
  const child = ownChild(
    spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', out, err],
      env: { ...process.env, ...env },
    }),
  )
  for (const f of [out, err]) if (typeof f === 'number') closeSync(f)
  let text = ''
  if (stdout === 'closed-pipe') child.stdout!.destroy()
  if (stderr === 'closed-pipe') {
    // `2>&1 | head -c 10`: the reader takes a little, then goes.
    child.stderr!.once('data', () => child.stderr!.destroy())
  } else child.stderr?.setEncoding('utf8').on('data', (d) => (text += d))
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr: text })),
  )
}

/** Whether every file in `out` holds its image's bytes exactly. */
async function allWhole(out: string, name: string): Promise<{ whole: number; wrong: string[] }> {
  const wrong: string[] = []
  let whole = 0
  for (const f of await outputFiles(out)) {
    const bytes = await readFile(join(out, f))
    if (bytes.equals(server.bytes(`/${name}/${f}`))) whole++
    else wrong.push(f)
  }
  return { whole, wrong }
}

test('--json into a full disk (> /dev/full): a clean stop, exit 3 and one line, no stack trace; the rerun finishes', async () => {
  const file = await list('json-full', 30)
  const out = join(dir, 'json-full')
  const r = await run([file, '-o', out, '--json', '--no-report'], '/dev/full', 'pipe')
  assert.equal(r.code, 3, r.stderr)
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|node:/)
  assert.match(
    r.stderr,
    /^imgpull: cannot write standard output \(no space left on device\): the --json lines are cut short; stopped, files already saved are complete; send them where they can be written and run the same command again to continue$/m,
  )
  assert.deepEqual((await allWhole(out, 'json-full')).wrong, [])
  const again = await runCli([file, '-o', out, '--no-report'])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(await allWhole(out, 'json-full'), { whole: 30, wrong: [] })
})

for (const [how, stderr] of [
  ['into a full disk (2> /dev/full)', '/dev/full'],
  ['into a reader that goes away (2>&1 | head -c 10)', 'closed-pipe'],
] as const)
  test(`stderr ${how}: the run goes on to its end (it stopped at its first progress line, exit 1 as if files failed)`, async () => {
    const name = `stderr-${stderr === '/dev/full' ? 'full' : 'pipe'}`
    const file = await list(name, 30)
    const out = join(dir, name)
    const r = await run([file, '-o', out, '--no-report'], 'pipe', stderr, {
      IMGPULL_PROGRESS_INTERVAL: '0.2',
    })
    assert.equal(r.code, 0)
    assert.deepEqual(await allWhole(out, name), { whole: 30, wrong: [] })
  })

for (const args of [['--json'], []])
  test(`status ${args.join(' ')} into a full disk: exit 3 and one line saying so (it exited 0 over an empty file)`, async () => {
    const file = await list(`status${args.length}`, 2)
    const out = join(dir, `status${args.length}`)
    assert.equal((await runCli([file, '-o', out, '--no-report'])).code, 0)
    const r = await run(['status', out, ...args], '/dev/full', 'pipe')
    assert.equal(r.code, 3, r.stderr)
    assert.equal(
      r.stderr,
      'imgpull: cannot write standard output (no space left on device): what this command printed there is cut short; send it where it can be written and run the same command again\n',
    )
    // A reader that goes away takes no more than it wanted: no fault.
    const piped = await run(['status', out, ...args], 'closed-pipe', 'pipe')
    assert.equal(piped.code, 0, piped.stderr)
    assert.equal(piped.stderr, '')
  })

test('exitAfterStdout: a command that would end well or with failures ends on the local fault (3); its own stops keep theirs', () => {
  const fault = Object.assign(new Error('x'), { code: 'ENOSPC' })
  for (const [code, met, want] of [
    [0, fault, 3],
    [1, fault, 3],
    [2, fault, 2],
    [3, fault, 3],
    [130, fault, 130],
    [0, undefined, 0],
    [1, undefined, 1],
  ] as const)
    assert.equal(exitAfterStdout(code, met), want, `${code} ${met ? 'with' : 'without'} a fault`)
  assert.equal(
    stdoutFaultWords(Object.assign(new Error('x'), { code: 'EIO' })),
    'cannot write standard output (input/output error): what this command printed there is cut short',
  )
  // A terminal hung up (EIO there) is a reader gone, as a pipe's (EPIPE); on a file, EIO is a fault.
  const eio = Object.assign(new Error('x'), { code: 'EIO' })
  assert.equal(readerGoneBy(eio, true), true)
  assert.equal(readerGoneBy(eio, false), false)
  assert.equal(readerGoneBy(Object.assign(new Error('x'), { code: 'EPIPE' }), false), true)
  assert.equal(readerGoneBy(Object.assign(new Error('x'), { code: 'ENOSPC' }), true), false)
})

/** Resolves once `out` holds a first image. */
const firstFile = (out: string) =>
  until('a first image', async () => (await outputFiles(out).catch(() => [])).length > 0)

/** A run of a list of `n` images sent `signal` once its first image is there, and its end. */
async function signalledMidRun(name: string, n: number, signal: NodeJS.Signals) {
  const file = await list(name, n)
  const out = join(dir, name)
  const run = startCli([file, '-o', out, '--no-report'])
  await firstFile(out)
  run.child.kill(signal)
  return { file, out, done: await run.done }
}

test('SIGHUP (an ssh session or terminal closed) stops as SIGTERM does: exit 130, said, transfers in flight finished; the rerun finishes (it was killed at once, 129)', async () => {
  const name = 'sighup'
  const { file, out, done: stopped } = await signalledMidRun(name, 120, 'SIGHUP')
  assert.equal(stopped.code, 130, stopped.stderr)
  assert.match(
    stopped.stderr,
    /^Stopping on SIGHUP \(its terminal closed\): finishing transfers in flight \(up to 10 s\); a second SIGHUP, SIGTERM or SIGINT stops now\.$/m,
  )
  assert.match(stopped.stderr, /^Run the same command again to continue where this run stopped\.$/m)
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'in-flight transfers were finished')
  assert.deepEqual((await allWhole(out, name)).wrong, [])
  const again = await runCli([file, '-o', out, '--no-report'])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(await allWhole(out, name), { whole: 120, wrong: [] })
})

test('stoppingLine: a SIGHUP is said as itself, with the signals that stop at once', () => {
  assert.equal(
    stoppingLine('SIGHUP', 'finishing transfers in flight (up to 10 s)'),
    'Stopping on SIGHUP (its terminal closed): finishing transfers in flight (up to 10 s); a second SIGHUP, SIGTERM or SIGINT stops now.',
  )
  assert.deepEqual([...STOP_SIGNALS].sort(), ['SIGHUP', 'SIGINT', 'SIGTERM'])
})

test('SIGUSR1 (a supervisor\'s "reopen your logs", dd\'s "how far") does nothing: the run goes on to its end, and no debugger opens (it printed Debugger listening on ws://127.0.0.1:9229, a port open to every local process: nodejs/node#42446)', async () => {
  const name = 'sigusr1'
  const { out, done: r } = await signalledMidRun(name, 12, 'SIGUSR1')
  assert.equal(r.code, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /Debugger|inspector/)
  assert.deepEqual(await allWhole(out, name), { whole: 12, wrong: [] })
})

test('a terminal that hangs up mid-run (closed, its ssh session lost) with no SIGHUP reaching the run (its shell ignores it): the run ends as it would, exit 0, no native stack trace (Node 20 aborted, 134: nodejs/node#51519)', async () => {
  const name = 'hangup'
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let seen = () => {}
  const asked = new Promise<void>((resolve) => {
    seen = resolve
  })
  const slow = await startImageServer({
    hold: (p) => {
      if (p !== `/${name}-held`) return undefined
      seen()
      return held
    },
  })
  try {
    const file = join(dir, `${name}.txt`)
    // One at a time, the held file first.
    const rest = Array.from({ length: 5 }, (_, i) => slow.url(`/${name}-${i}`))
    await writeFile(file, `${[slow.url(`/${name}-held`), ...rest].join('\n')}\n`)
    const out = join(dir, name)
    const [err, rc] = [join(dir, `${name}.err`), join(dir, `${name}.rc`)]
    // The shell ignores the hang-up and writes the exit code; the CLI, on the terminal `script`
    // makes (its stdin, stdout), hears it. Killing `script` hangs the terminal up.
    const command = `trap '' HUP; '${process.execPath}' '${CLI}' '${file}' -o '${out}' -c 1 --no-report 2> '${err}'; echo $? > '${rc}'`
    // `script` runs the command with $SHELL; name the shell, so that the one ignoring the hang-up
    // is the terminal's session leader wherever the test runs (with SHELL=/bin/sh, dash led
    // through an outer shell that did not, and the run was hung up).
    const pty = ownChild(
      spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { ...process.env, SHELL: '/bin/sh' },
      }),
    )
    await asked
    pty.kill('SIGKILL')
    release()
    await until('its exit code', async () => (await readFile(rc, 'utf8').catch(() => '')).endsWith('\n'))
    const stderr = await readFile(err, 'utf8')
    assert.equal((await readFile(rc, 'utf8')).trim(), '0', stderr)
    assert.doesNotMatch(stderr, /Assertion|Native stack|Stopping/)
    assert.match(stderr, /^6 images, .* 0 failed$/m)
  } finally {
    release()
    await slow.close()
  }
})
