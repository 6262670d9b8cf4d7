/**
 * HTTP Digest authentication (RFC 7616, and RFC 2617/2069 servers), for the user and password of a
 * URL whose server asks for it: IP cameras (`http://admin:pw@cam/snapshot.jpg`: Hikvision and Dahua
 * firmware take Digest only) and servers with Apache's `AuthType Digest`. wget and wget2 answer
 * such a challenge with a URL's credentials; curl with `--digest`. Pure, table-tested against the
 * RFCs' own examples (test/policies.test.ts).
 */

import { createHash } from 'node:crypto'
import { quoted } from '../utils/printable.js'
import { fitsRequest } from './field-value.js'

/** A server's Digest challenge, as `WWW-Authenticate` states it. */
export interface DigestChallenge {
  realm: string
  nonce: string
  opaque?: string
  /** The hash, as named (`MD5`, `SHA-256`, `SHA-512-256`, each maybe `-sess`). */
  algorithm: string
  /** `auth` or `auth-int` where the server offers one; none for an RFC 2069 server. */
  qop?: 'auth' | 'auth-int'
  /** The user name is sent hashed (RFC 7616 §3.4.4). */
  userhash: boolean
  /** The nonce of an earlier answer was stale, not the credentials wrong (RFC 7616 §3.3). */
  stale: boolean
}

/** Node's names for the hashes Digest names. */
const HASHES: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' }

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y
const PARAM = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/y

/**
 * The first Digest challenge of `WWW-Authenticate` (one header or several; a header may also list
 * other schemes, `Basic` or `Negotiate`) that imgpull can answer (see `fromParams`); `undefined` if none.
 */
export function digestChallenge(value: string | string[] | undefined): DigestChallenge | undefined {
  for (const params of digestParams(value)) {
    const challenge = fromParams(params)
    if (typeof challenge !== 'string') return challenge
  }
  return undefined
}

/**
 * Why the Digest challenges of `WWW-Authenticate` cannot be answered, in words for a failure's
 * message (`its Digest challenge has a control character in its nonce`), from the first one; or
 * `undefined` when one can be, or none is offered. Pure.
 */
export function digestUnanswered(value: string | string[] | undefined): string | undefined {
  let why: string | undefined
  for (const params of digestParams(value)) {
    const challenge = fromParams(params)
    if (typeof challenge !== 'string') return undefined
    why ??= `its Digest challenge ${challenge}`
  }
  return why
}

/** The parameters of each Digest challenge `WWW-Authenticate` lists, names lower-cased, in order. */
function* digestParams(value: string | string[] | undefined): Generator<Map<string, string>> {
  for (const { scheme, params } of challenges(value)) if (scheme.toLowerCase() === 'digest') yield params
}

/**
 * The challenges `WWW-Authenticate` lists (one header or several, several in one), in order: each
 * scheme as written (`Basic`, `Digest`, `Bearer`, `Negotiate`) and its realm, if it names one. Pure.
 */
export function authChallenges(value: string | string[] | undefined): { scheme: string; realm?: string }[] {
  return [...challenges(value)].map(({ scheme, params }) => {
    const realm = params.get('realm')
    return realm === undefined ? { scheme } : { scheme, realm }
  })
}

/** Each challenge `WWW-Authenticate` lists: its scheme, and its parameters, names lower-cased. */
function* challenges(
  value: string | string[] | undefined,
): Generator<{ scheme: string; params: Map<string, string> }> {
  for (const text of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
    let at = 0
    while (at < text.length) {
      // A scheme name, then its parameters up to the next scheme name.
      while (at < text.length && /[\s,]/.test(text[at]!)) at++
      TOKEN.lastIndex = at
      const scheme = TOKEN.exec(text)?.[0]
      if (scheme === undefined) break
      at = TOKEN.lastIndex
      const params = new Map<string, string>()
      for (;;) {
        PARAM.lastIndex = at
        const m = PARAM.exec(text)
        if (!m || m[0] === '') break
        params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!)
        at = PARAM.lastIndex
      }
      yield { scheme, params }
    }
  }
}

/** Parameters an answer sends back as the challenge gave them. */
const ECHOED = ['realm', 'nonce', 'opaque', 'algorithm'] as const

/**
 * The challenge `params` state, or why imgpull cannot answer it (words after `its Digest
 * challenge`): it needs a realm and a nonce, and an algorithm imgpull computes; the values an
 * answer sends back (realm, nonce, opaque, algorithm) must be free of control characters, which no
 * quoted-string carries (RFC 9110 §5.6.4) and undici refuses to send (see `fitsRequest`): its
 * `Authorization` failed before it was sent, as a `network` error on every attempt.
 */
function fromParams(params: Map<string, string>): DigestChallenge | string {
  const realm = params.get('realm')
  const nonce = params.get('nonce')
  if (realm === undefined || nonce === undefined) return `names no ${realm === undefined ? 'realm' : 'nonce'}`
  const algorithm = params.get('algorithm') ?? 'MD5'
  if (!HASHES[algorithm.toUpperCase().replace(/-SESS$/, '')])
    return `asks for the algorithm "${quoted(algorithm, 40)}", which imgpull does not compute`
  const unsendable = ECHOED.find((name) => !fitsRequest(params.get(name) ?? ''))
  if (unsendable) return `has a control character in its ${unsendable}, which no request can send back`
  const offered = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase())
  const qop = offered.includes('auth') ? 'auth' : offered.includes('auth-int') ? 'auth-int' : undefined
  const opaque = params.get('opaque')
  return {
    realm,
    nonce,
    algorithm,
    ...(qop ? { qop } : {}),
    ...(opaque !== undefined ? { opaque } : {}),
    userhash: params.get('userhash')?.toLowerCase() === 'true',
    stale: params.get('stale')?.toLowerCase() === 'true',
  }
}

export interface DigestRequest {
  /** The user and password as their bytes (see url-credentials.ts: a Latin-1 `%E9` is one byte), or text, hashed as UTF-8. */
  user: string | Buffer
  password: string | Buffer
  method: string
  /** The request target: path and query. */
  uri: string
  /** The client's nonce (random; fixed in tests). */
  cnonce: string
  /** Requests made with this nonce, this one included. @default 1 */
  count?: number
}

/** The `Authorization` header that answers `challenge` for `request`. */
export function digestAuthorization(challenge: DigestChallenge, request: DigestRequest): string {
  const name = challenge.algorithm.toUpperCase()
  const sess = name.endsWith('-SESS')
  const algo = HASHES[name.replace(/-SESS$/, '')]!
  /** The hash of `parts` joined by colons: text as UTF-8, bytes as they are. */
  const H = (...parts: (string | Buffer)[]) => {
    const hash = createHash(algo)
    parts.forEach((part, i) => {
      if (i > 0) hash.update(':')
      hash.update(part)
    })
    return hash.digest('hex')
  }
  const { method, uri, cnonce } = request
  const { user, password } = request
  // On the wire as its bytes: a header's text goes out one byte per character (Latin-1).
  const userText = typeof user === 'string' ? user : user.toString('latin1')
  const nc = (request.count ?? 1).toString(16).padStart(8, '0')
  let ha1 = H(user, challenge.realm, password)
  if (sess) ha1 = H(`${ha1}:${challenge.nonce}:${cnonce}`)
  // auth-int covers the request's body: a GET has none.
  const ha2 = H(challenge.qop === 'auth-int' ? `${method}:${uri}:${H('')}` : `${method}:${uri}`)
  const response = challenge.qop
    ? H(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${challenge.qop}:${ha2}`)
    : H(`${ha1}:${challenge.nonce}:${ha2}`)
  const q = (text: string) => `"${text.replace(/(["\\])/g, '\\$1')}"`
  const parts = [
    `username=${q(challenge.userhash ? H(user, challenge.realm) : userText)}`,
    `realm=${q(challenge.realm)}`,
    `nonce=${q(challenge.nonce)}`,
    `uri=${q(uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${q(response)}`,
    ...(challenge.qop ? [`qop=${challenge.qop}`, `nc=${nc}`, `cnonce=${q(cnonce)}`] : []),
    ...(challenge.opaque !== undefined ? [`opaque=${q(challenge.opaque)}`] : []),
    ...(challenge.userhash ? ['userhash=true'] : []),
  ]
  return `Digest ${parts.join(', ')}`
}
