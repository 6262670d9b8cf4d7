import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Run one command and measure it: wall time here (from spawn to exit), peak RSS and CPU seconds
 * from GNU time (`/usr/bin/time -f`, which reads the child's rusage from wait4). Without GNU time
 * the figures it gives are left out and the table says n/a.
 */
export interface Measured {
  /** Seconds from spawn to exit. */
  wall: number
  /** CPU seconds in user mode, in the kernel; peak resident set size in bytes (GNU time). */
  user?: number
  sys?: number
  maxRss?: number
  exitCode: number | null
  /** Killed for running past the scenario's cap. */
  killed: boolean
  /** Last few KB of standard error, for the notes. */
  stderr: string
}

const TIME = '/usr/bin/time'

/** True when /usr/bin/time is GNU time (Debian: `apt-get install -y time`). */
export const gnuTime: boolean = (() => {
  if (!existsSync(TIME)) return false
  const r = spawnSync(TIME, ['-f', '%M', 'true'], { encoding: 'utf8' })
  return r.status === 0 && /^\d+\s*$/m.test(r.stderr)
})()

/** The processes `pid` started (Linux: /proc/PID/task/PID/children). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

export interface MeasureOptions {
  /** Kill the command after this many ms. */
  cap: number
  /** Scratch folder for GNU time's report. */
  work: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Called right after spawn, with performance.now() of the spawn. */
  onSpawn?: (at: number) => void
}

export async function measure(argv: string[], o: MeasureOptions): Promise<Measured> {
  const report = join(o.work, `time-${process.pid}-${Date.now()}.txt`)
  const command = gnuTime ? [TIME, '-f', '%e %U %S %M', '-o', report, ...argv] : argv
  const started = performance.now()
  const child = spawn(command[0], command.slice(1), {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  o.onSpawn?.(started)
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4096)
  })
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    // Kill the measured command, not GNU time, so that time still reports on it.
    const targets = gnuTime && child.pid ? children(child.pid) : []
    for (const pid of targets.length ? targets : [child.pid!]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  }, o.cap)
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve(code))
  })
  const wall = (performance.now() - started) / 1000
  clearTimeout(timer)
  const m: Measured = { wall, exitCode, killed, stderr }
  if (gnuTime && existsSync(report)) {
    // A killed command's report starts with "Command terminated by signal 9".
    const last = readFileSync(report, 'utf8').trim().split('\n').at(-1) ?? ''
    const [, user, sys, rss] = last.split(/\s+/).map(Number)
    if ([user, sys, rss].every(Number.isFinite)) Object.assign(m, { user, sys, maxRss: rss * 1024 })
    rmSync(report, { force: true })
  }
  return m
}
