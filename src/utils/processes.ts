import { hostname } from 'node:os'

/**
 * Whether the process `pid` of the host named `host` has ended, so what it left (a part folder, a
 * temporary copy) can go. Only this host's processes can be asked; another host's, a running one,
 * or one this process may not signal (EPERM) count as running.
 */
export function processEnded(host: string, pid: number): boolean {
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/**
 * The name of a temporary file for `name` (a path or a file name) made by this process:
 * `NAME.HOST.PID.tmp`, so that one a killed process left can be told from one a living process is
 * writing (see `staleTemporary`).
 */
export function temporaryName(name: string): string {
  return `${name}.${hostname()}.${process.pid}.tmp`
}

/** Whether `name` (a folder entry) is a temporary file (`temporaryName`) of a process of this host that has ended. */
export function staleTemporary(name: string): boolean {
  const host = `.${hostname()}.`
  const at = name.lastIndexOf(host)
  if (at < 0 || !name.endsWith('.tmp')) return false
  return processEnded(hostname(), Number(name.slice(at + host.length, -'.tmp'.length)))
}
