/**
 * A workaround for undici 7 (nodejs/undici#5355, fixed in undici 8 only, which needs Node 22): a
 * connection failing with `ERR_TLS_CERT_ALTNAME_INVALID` (a certificate for another name) takes a
 * path of its own in client.js `handleConnectError`, which fails the requests waiting on it
 * without taking them off its queue. The client then counts them as running and sends nothing
 * more: each request given to it afterwards waited for the headers timeout (30 s), was retried,
 * and failed the same (2,000 files on such a host took 64 s, one in ten of them tried twice). The
 * same error under a code of its own takes undici's common path, which fails every waiting
 * request at once; the original stays its `cause`, where tls-errors.ts reads it.
 */

/** The code a certificate-for-another-name failure is given (see the module's comment). */
export const NAME_MISMATCH = 'IMGPULL_TLS_NAME_MISMATCH'

type Connect = (options: object, callback: (error: Error | null, socket: unknown) => void) => unknown

/** `connect` with its `ERR_TLS_CERT_ALTNAME_INVALID` failures coded `NAME_MISMATCH`. */
export function nameMismatchFailsAll<C>(connect: C): C {
  return ((options: object, callback: (error: Error | null, socket: unknown) => void) =>
    (connect as Connect)(options, (error, socket) => {
      if ((error as { code?: string } | null)?.code !== 'ERR_TLS_CERT_ALTNAME_INVALID')
        return callback(error, socket)
      callback(Object.assign(new Error(error!.message, { cause: error }), { code: NAME_MISMATCH }), socket)
    })) as C
}
