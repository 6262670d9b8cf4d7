import { readFileSync, renameSync, unlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import type Database from 'better-sqlite3'
import { FolderBusyError } from '../errors.js'
import type { Layout } from '../layout.js'
import { visibleShellWord } from '../utils/command-line.js'
import { writeOwnFileSync } from '../utils/own-file.js'

/** Who holds an output folder: what the second run's message names. */
export interface LockHolder {
  pid: number
  host: string
  /** ms since the epoch. */
  startedAt: number
}

/**
 * One run at a time per output folder. The lock is an exclusive SQLite transaction on
 * `.imgpull/lock.db`: a lock the kernel holds for the process (POSIX advisory locks), so a run
 * that is killed (`kill -9`, a crash, a lost machine's NFS client) releases it at once and the
 * next run takes over, with no stale lock file to guess about. `lock.json` beside it says who
 * holds it, for the message a second run prints.
 */
export class FolderLock {
  readonly #db: Database.Database
  readonly #holder: string
  /** The holder a killed run left behind, when this run took its lock over. */
  readonly tookOverFrom: LockHolder | undefined

  private constructor(db: Database.Database, holder: string, tookOverFrom: LockHolder | undefined) {
    this.#db = db
    this.#holder = holder
    this.tookOverFrom = tookOverFrom
  }

  /**
   * Take the lock of an output folder (its work folder must exist). Throws `FolderBusyError`
   * (exit 2) naming the run that holds it.
   */
  static acquire(paths: Layout, Sqlite: typeof Database, now = Date.now()): FolderLock {
    const db = new Sqlite(paths.lock, { timeout: 0 })
    const holderPath = paths.lockHolder
    try {
      db.pragma('locking_mode = EXCLUSIVE')
      db.exec('BEGIN EXCLUSIVE')
    } catch (error) {
      db.close()
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
      throw new FolderBusyError(readHolder(holderPath), visibleShellWord(paths.out))
    }
    // Held: whatever lock.json says is a run that ended without cleaning up (killed).
    const previous = readHolder(holderPath)
    const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: now }
    const tmp = paths.tmp('lock.json')
    writeOwnFileSync(tmp, JSON.stringify(me))
    renameSync(tmp, holderPath)
    return new FolderLock(db, holderPath, previous)
  }

  /**
   * Whether a run holds the folder now, without taking the lock (so a reader that cannot write
   * the folder can ask): its holder, `'unknown'` when held by a run that left no `lock.json`, or
   * `undefined` when no run holds it. A held lock is an exclusive one: even a read is refused.
   */
  static holder(paths: Layout, Sqlite: typeof Database): LockHolder | 'unknown' | undefined {
    let db: Database.Database
    try {
      db = new Sqlite(paths.lock, { readonly: true, fileMustExist: true, timeout: 0 })
    } catch {
      return undefined // never locked here
    }
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').get()
      return undefined
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') return undefined
      return readHolder(paths.lockHolder) ?? 'unknown'
    } finally {
      db.close()
    }
  }

  /** Let the next run in. */
  release(): void {
    try {
      unlinkSync(this.#holder)
    } catch {}
    this.#db.close()
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder
    return typeof holder.pid === 'number' ? holder : undefined
  } catch {
    return undefined
  }
}
