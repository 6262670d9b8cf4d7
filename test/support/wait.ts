import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pull } from '../../src/index.js'

/**
 * Wait until `ready()` holds, checking every 10 ms; after `ms`, throw naming `what`. The default
 * bounds a wait for something a run reaches at its own pace (files made, requests sent), not its
 * speed: 15 s was too short on a loaded machine (publish-kills.test.ts: a resizing run had not
 * reached the file count to stop it at), and only a failing test waits it out; a speed to hold
 * passes its own `ms`.
 */
export async function until(
  what: string,
  ready: () => boolean | Promise<boolean>,
  ms = 60_000,
): Promise<void> {
  const end = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/**
 * A slow host's answers (a test server's `hold`): held until `release()`, or `ms` after this call at the latest; `end()`
 * lets them go and stops the timer.
 */
export function heldAnswers(ms: number) {
  let release = () => {}
  const hold = new Promise<void>((resolve) => {
    release = resolve
  })
  const timer = setTimeout(() => release(), ms)
  return {
    hold,
    release: () => release(),
    end() {
      clearTimeout(timer)
      release()
    },
  }
}

/** Run `answer` `ms` after `hold` settles, or after `ms` when none is given: a test server's answer, slow or held. */
export function afterHold(hold: Promise<void> | undefined, ms: number, answer: () => void): void {
  const later = () => {
    setTimeout(answer, ms)
  }
  if (hold) hold.then(later)
  else later()
}

/**
 * The messages of the files lost pulling 24 files of the host `start` makes to `out` at
 * `--retries 1`, its answers held (the `hold` given to `start`) until a file is lost, or 1.5 s
 * at most: a host whose first answer comes later than a file's retries. The host is closed after.
 */
export async function lostWhileHeld(
  start: (hold: Promise<void>) => Promise<{ origin: string; close(): Promise<void> }>,
  out: string,
): Promise<string[]> {
  const { hold, release, end } = heldAnswers(1500)
  const host = await start(hold)
  try {
    const urls = Array.from({ length: 24 }, (_, i) => `${host.origin}/ok/wait-${i}.jpg`)
    const lost: string[] = []
    for await (const r of pull(urls, { out, journal: false, retries: 1 })) {
      if (r.status === 'ok') continue
      lost.push(r.message ?? r.status)
      release()
    }
    return lost
  } finally {
    end()
    await host.close()
  }
}

/** Whether a file or folder is there. */
export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

let mounts: boolean | undefined

/**
 * Whether this process can mount file systems (a small tmpfs, a read-only bind): tried once, a
 * tmpfs mounted and unmounted. Root alone is not enough: root in a container (Docker's default
 * capabilities, no CAP_SYS_ADMIN) is refused by mount(2), and the tests failed on `mount: ...
 * permission denied` there, where they are meant to skip.
 */
export function canMount(): boolean {
  if (mounts !== undefined) return mounts
  mounts = false
  if (process.getuid?.() !== 0) return mounts
  let probe: string | undefined
  try {
    probe = mkdtempSync(join(tmpdir(), 'imgpull-mount-probe-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    mounts = true
  } catch {
    // No mount(8), or not allowed to mount.
  } finally {
    if (probe) rmSync(probe, { recursive: true, force: true })
  }
  return mounts
}

/**
 * Run `body` on a small tmpfs of `size` (`'1500k'`; `{ size, inodes }` to run out of inodes
 * instead: files and folders, the root included) mounted at `folder` (made here), unmounted
 * after, to fill a disk for real; skips `t` where mounting is not allowed (CI and the dev
 * machines run as root allowed to mount, where it never skips). `body` may give the disk more
 * room (`growDisk`).
 */
export async function onSmallDisk(
  t: { skip(message: string): void },
  folder: string,
  size: string | { size: string; inodes: number },
  body: (mnt: string) => Promise<void>,
): Promise<void> {
  if (!canMount()) {
    t.skip('mounting a small tmpfs needs root, allowed to mount (CAP_SYS_ADMIN)')
    return
  }
  await mkdir(folder)
  const limits = typeof size === 'string' ? `size=${size}` : `size=${size.size},nr_inodes=${size.inodes}`
  execFileSync('mount', ['-t', 'tmpfs', '-o', limits, 'tmpfs', folder])
  try {
    await body(folder)
  } finally {
    execFileSync('umount', ['-l', folder])
  }
}

/** Take every inode left on the disk mounted at `mnt` (see `onSmallDisk`): empty files until ENOSPC. */
export async function takeInodes(mnt: string): Promise<void> {
  for (let i = 0; ; i++) {
    const full = await writeFile(join(mnt, `fill-${i}`), '').then(
      () => false,
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOSPC') throw error
        return true
      },
    )
    if (full) return
  }
}

/**
 * Give a disk `onSmallDisk` mounted at `mnt` more room in place, its files kept: 8 MB by default
 * (a rerun after a disk full), or more inodes (`{ inodes }`).
 */
export function growDisk(mnt: string, room: { size?: string; inodes?: number } = { size: '8m' }): void {
  const options = [
    ...(room.size ? [`size=${room.size}`] : []),
    ...(room.inodes ? [`nr_inodes=${room.inodes}`] : []),
  ]
  execFileSync('mount', ['-o', ['remount', ...options].join(','), mnt])
}

/**
 * Whether process `pid`, or one it started, holds `path` open (Linux: its /proc/PID/fd links): a
 * run at a FIFO with no writer holds it open without reading, so nothing else shows it is there.
 */
export async function holdsOpen(pid: number, path: string): Promise<boolean> {
  const list = (dir: string) => readdir(dir).catch(() => [] as string[])
  for (const fd of await list(`/proc/${pid}/fd`))
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === path) return true
  for (const task of await list(`/proc/${pid}/task`)) {
    const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
    for (const child of children.split(' ').filter(Boolean))
      if (await holdsOpen(Number(child), path)) return true
  }
  return false
}
