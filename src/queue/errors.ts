import { ImgpullError } from '../errors.js'

/**
 * Why a queue command cannot go on (exit 2, one line naming the cause): Redis unreachable or set
 * up to lose keys, a queue name BullMQ cannot take, another input already in the queue.
 */
export class QueueError extends ImgpullError {
  override name = 'QueueError'
}

/** A Redis URL as shown in messages: any password replaced by `***`. */
export function shownRedis(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString().replace(/\/$/, '')
  } catch {
    return url
  }
}
