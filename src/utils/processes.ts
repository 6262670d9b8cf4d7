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
