import { execFileSync } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/** Wait until `ready()` holds, checking every 10 ms; after `ms`, throw naming `what`. */
export async function until(
  what: string,
  ready: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const end = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Whether a file or folder is there. */
export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

/** Whether this process can mount file systems (a small tmpfs, a read-only bind): root, with mount(8). */
export function canMount(): boolean {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' })
    return process.getuid?.() === 0
  } catch {
    return false
  }
}
