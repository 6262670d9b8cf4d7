import type { Dispatcher } from './undici.js'

/**
 * An undici dispatch handler that passes every call to `inner`: the base of handlers that watch a
 * request on its way (`Tracked` in origin-pool.ts tells its pool when it ends; `Watched` in
 * http1-fallback.ts takes over a refusal asking for HTTP/1.1). Subclasses override what they watch
 * and call `super`.
 */
export class ForwardingHandler implements Dispatcher.DispatchHandler {
  constructor(readonly inner: Dispatcher.DispatchHandler) {}

  onConnect(abort: (err?: Error) => void, context?: object): void {
    // undici's request API keeps the context it is handed.
    ;(this.inner.onConnect as ((abort: (err?: Error) => void, context?: object) => void) | undefined)?.call(
      this.inner,
      abort,
      context,
    )
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.()
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.inner.onHeaders?.(status, headers, resume, statusText) ?? true
  }

  onData(chunk: Buffer): boolean {
    return this.inner.onData?.(chunk) ?? true
  }

  onComplete(trailers: string[] | null): void {
    this.inner.onComplete?.(trailers)
  }

  onError(error: Error): void {
    this.inner.onError?.(error)
  }
}
