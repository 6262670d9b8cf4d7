/** What a hook needs of a cancel: see `Cancel` in src/fetch/exchange.ts. */
export interface Cancellable {
  aborted: boolean
  onAbort: ((reason: unknown) => void) | undefined
}

/** Call `fn` (once) when `cancel` fires, besides what it already does; returns the undo. */
export function whenCancelled(cancel: Cancellable | undefined, fn: () => void): () => void {
  if (!cancel) return () => {}
  const before = cancel.onAbort
  const hook = (reason: unknown) => {
    cancel.onAbort = before
    fn()
    before?.(reason)
  }
  cancel.onAbort = hook
  return () => {
    if (cancel.onAbort === hook) cancel.onAbort = before
  }
}
