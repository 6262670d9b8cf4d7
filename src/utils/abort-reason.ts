/**
 * What a run stopped through `signal` rejects with: its `reason`, as fetch() does; an
 * `AbortError` `DOMException` for a signal without one, as Node's own `abort()` gives. An
 * `AbortController` polyfill of before `reason` (abort-controller, node-abort-controller before
 * 3.1: southpolesteve/node-abort-controller#31) left it `undefined`, and the loop rejected with
 * `undefined`: a caller's `catch (error) { error.name }` threw a TypeError of its own
 * (MetaMask/metamask-mobile#28596).
 */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason === undefined
    ? new DOMException('This operation was aborted', 'AbortError')
    : signal.reason
}
