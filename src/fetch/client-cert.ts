import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { errorCode, OptionFileError } from '../errors.js'
import { visibleShellWord } from '../utils/command-line.js'
import { certificateKind, fileFault, nearFileSync, ofKind } from '../utils/near-file.js'
import { readOptionFileSync } from '../utils/option-file.js'
import { tildeHint } from '../utils/tilde.js'
import { certificatesOf, isPkcs12, pemLabels } from './trust.js'

/**
 * What a TLS context is given to show a server imgpull's client certificate (mutual TLS, RFC 8446
 * §4.4.2): a PEM chain (the client's certificate first) and its key, unencrypted in memory; or a
 * PKCS #12 bundle with its password, as OpenSSL opens it.
 */
export type ClientIdentity = { cert: string; key: string } | { pfx: Buffer; passphrase?: string }

/** The files of a client certificate, as `Options` names them. */
export interface ClientCertFiles {
  /** PEM certificate chain (the key may follow in the same file), one DER certificate, or a PKCS #12 `.p12`/`.pfx`. */
  clientCert?: string
  /** PEM (or DER) private key, when not in `clientCert`'s file. */
  clientKey?: string
  /** The password of an encrypted key or of a PKCS #12 file. */
  clientCertPassword?: string
}

/** What `readClientCert` found: the identity for TLS, and the client's certificate, for the warnings. */
export interface ClientCert {
  identity: ClientIdentity
  certificate: X509Certificate
}

/** A PEM private key of any kind OpenSSL writes (`PRIVATE KEY`, `RSA`/`EC`, `ENCRYPTED`). */
const PEM_KEY = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[^-]+-----END \1-----/

/**
 * Read and check a client certificate (`clientCert`, `clientKey`, `clientCertPassword`) before any
 * request, as curl does not (it reads it with the first handshake, and then says only `could not
 * load PEM client certificate`). Throws a `TypeError` in one line naming the option and the file:
 * unreadable, no certificate, no key, an encrypted key or PKCS #12 without its password or with a
 * wrong one, a key that is not the certificate's, a PKCS #12 in the legacy encryption OpenSSL 3
 * does not open. `undefined` without `clientCert`.
 */
export function readClientCert(files: ClientCertFiles): ClientCert | undefined {
  const { clientCert, clientKey, clientCertPassword: password } = files
  if (clientCert === undefined) {
    if (clientKey !== undefined)
      throw new TypeError(`\`clientKey\` is the key of \`clientCert\`'s certificate: give \`clientCert\` too`)
    if (password !== undefined)
      throw new TypeError(
        'a password given as `clientCertPassword` opens `clientCert` or `clientKey`: give `clientCert` too',
      )
    return undefined
  }
  const bytes = readFile(clientCert, 'clientCert')
  if (isPkcs12(bytes)) return pkcs12(bytes, clientCert, clientKey, password)
  const chain = certificatesOf(bytes)
  if (chain.length === 0)
    throw new TypeError(
      `Expected \`clientCert\` to hold a certificate (PEM, DER, or a PKCS #12 .p12/.pfx): ${clientCert} has none${pemLabels(bytes)}`,
    )
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(chain[0])
  } catch (error) {
    throw new TypeError(
      `\`clientCert\` ${clientCert}: its certificate cannot be read: ${(error as Error).message}`,
    )
  }
  const [keyBytes, keyFile, option] = clientKey
    ? [readFile(clientKey, 'clientKey'), clientKey, 'clientKey']
    : [bytes, clientCert, 'clientCert']
  const key = privateKey(keyBytes, keyFile, option, password, clientKey === undefined)
  if (!certificate.checkPrivateKey(key))
    throw new TypeError(
      `\`${option}\` ${keyFile}: its key is not the key of the certificate in \`clientCert\` ${clientCert} (${certificate.subject.replaceAll('\n', ', ')})`,
    )
  return {
    identity: { cert: chain.join('\n'), key: key.export({ type: 'pkcs8', format: 'pem' }) as string },
    certificate,
  }
}

/**
 * A file's bytes; a `TypeError` naming `option` and the file when it cannot be read. A
 * certificate's path with a colon that is no file is curl's `--cert FILE:PASSWORD`: said so, and
 * shown without what follows the colon (a password printed stays in the terminal's scrollback and
 * in logs), its hints (`did you mean`, `~`) of FILE alone.
 */
function readFile(path: string, option: string): Buffer {
  try {
    return readOptionFileSync(path)
  } catch (error) {
    const code = errorCode(error)
    const colon = option === 'clientCert' && code === 'ENOENT' ? path.lastIndexOf(':') : -1
    const file = colon > 0 ? path.slice(0, colon) : path
    const shown =
      colon > 0
        ? `${visibleShellWord(file)}:… (curl's FILE:PASSWORD, not taken here: the password is given as \`clientCertPassword\`)`
        : visibleShellWord(path)
    const missing = colon > 0 && existsSync(file) ? '' : `: ${fileFault(error)}`
    throw new OptionFileError(
      option,
      path,
      `Expected \`${option}\` to be a readable file: ${shown}${missing}${tildeHint(file, code)}${code === 'ENOENT' && missing ? nearFileSync(file, ofKind(certificateKind)) : ''}`,
    )
  }
}

/**
 * The password of a client certificate's key or PKCS #12 file is missing or wrong: the fault of
 * whoever gives the password (a queue's worker, each given its own), not of the files.
 */
export class CertPasswordError extends TypeError {
  override name = 'CertPasswordError'
}

/** How OpenSSL and Node fail a key for its password: wrong, or none given for an encrypted one. */
const PASSWORD_FAULTS = new Set(['ERR_OSSL_BAD_DECRYPT', 'ERR_MISSING_PASSPHRASE'])

/** The DER of the password-based encryption OIDs, PKCS #5's (1.2.840.113549.1.5) and PKCS #12's (1.2.840.113549.1.12.1). */
const PBE_OIDS = [Buffer.from('2a864886f70d0105', 'hex'), Buffer.from('2a864886f70d010c01', 'hex')]

/** Whether DER `bytes` are a PKCS #8 EncryptedPrivateKeyInfo: its algorithm, near its start, a PBE one (RFC 5958 §3). */
function encryptedDer(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 32)
  return PBE_OIDS.some((oid) => head.includes(oid))
}

/**
 * The private key of `bytes` (a PEM block, else DER: PKCS #8, PKCS #1, SEC 1), opened with
 * `password` when encrypted. `beside`: the key is looked for in the certificate's own file.
 */
function privateKey(
  bytes: Buffer,
  path: string,
  option: string,
  password: string | undefined,
  beside: boolean,
): KeyObject {
  const pem = PEM_KEY.exec(bytes.toString('latin1'))
  if (!pem && beside)
    throw new TypeError(
      `\`clientCert\` ${visibleShellWord(path)} holds no private key: give the key's file as \`clientKey\`, or put the key in the same file after the certificate`,
    )
  const encrypted = pem
    ? pem[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(pem[0])
    : encryptedDer(bytes)
  if (encrypted && password === undefined)
    throw new CertPasswordError(
      `\`${option}\` ${visibleShellWord(path)}: its key is encrypted: give its password as \`clientCertPassword\``,
    )
  // Its lines indented (pasted out of a YAML file or a Kubernetes Secret's manifest), as RFC 7468
  // §3 takes and OpenSSL does not (openssl/openssl#8815): read from their starts, headers kept.
  const text = pem?.[0].replace(/^[ \t]+/gm, '')
  const forms: Parameters<typeof createPrivateKey>[0][] = text
    ? [{ key: text, ...(password === undefined ? {} : { passphrase: password }) }]
    : (['pkcs8', 'pkcs1', 'sec1'] as const).map((type) => ({
        key: bytes,
        format: 'der' as const,
        type,
        ...(password === undefined ? {} : { passphrase: password }),
      }))
  const failed: unknown[] = []
  for (const form of forms) {
    try {
      return createPrivateKey(form)
    } catch (error) {
      failed.push(error)
    }
  }
  // An encrypted key (DER: PKCS #8's EncryptedPrivateKeyInfo, read as PKCS #8 alone) fails for its
  // password. Not always as a bad decrypt: CBC's padding check passes a wrong password about once
  // in 250, and the garbage it decrypts to fails as no key (`DECODER routines::unsupported`, an
  // ASN.1 wrong tag): an encrypted key that does not open with the password given is its password's.
  const last = failed.find((error) => PASSWORD_FAULTS.has(errorCode(error))) ?? failed.at(-1)
  if (encrypted || PASSWORD_FAULTS.has(errorCode(last)))
    throw new CertPasswordError(
      password === undefined
        ? `\`${option}\` ${visibleShellWord(path)}: its key is encrypted: give its password as \`clientCertPassword\``
        : `the password given as \`clientCertPassword\` does not open the key of \`${option}\` ${visibleShellWord(path)} (a wrong password?)`,
    )
  throw new TypeError(
    pem
      ? `\`${option}\` ${visibleShellWord(path)}: its private key cannot be read: ${(last as Error).message}`
      : `Expected \`${option}\` to hold a private key (PEM, or DER): ${visibleShellWord(path)} has none${pemLabels(bytes)}`,
  )
}

/** A PKCS #12 file opened as TLS opens it, with its certificate; a `TypeError` when it cannot be. */
function pkcs12(
  bytes: Buffer,
  path: string,
  clientKey: string | undefined,
  password: string | undefined,
): ClientCert {
  if (clientKey !== undefined)
    throw new TypeError(
      `\`clientCert\` ${visibleShellWord(path)} is a PKCS #12 file, which holds its key: leave \`clientKey\` (${clientKey}) out`,
    )
  const identity = { pfx: bytes, ...(password === undefined ? {} : { passphrase: password }) }
  const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  let der: Buffer | null
  try {
    der = (tls.createSecureContext(identity).context as { getCertificate(): Buffer | null }).getCertificate()
  } catch (error) {
    const message = (error as Error).message
    if (/mac verify failure/i.test(message))
      throw new CertPasswordError(
        password === undefined
          ? `\`clientCert\` ${visibleShellWord(path)} is a password-protected PKCS #12 file: give its password as \`clientCertPassword\``
          : `the password given as \`clientCertPassword\` does not open the PKCS #12 file \`clientCert\` ${visibleShellWord(path)} (a wrong password?)`,
      )
    if (errorCode(error) === 'ERR_CRYPTO_UNSUPPORTED_OPERATION' || /unsupported/i.test(message))
      throw new TypeError(
        `\`clientCert\` ${visibleShellWord(path)} is a PKCS #12 file in a legacy encryption (RC2 or 3DES, as Windows and OpenSSL 1.1 export them) that OpenSSL 3 opens only with its legacy provider: NODE_OPTIONS=--openssl-legacy-provider, or convert it once: openssl pkcs12 -legacy -in ${visibleShellWord(path)} -nodes | openssl pkcs12 -export -out client.p12`,
      )
    throw new TypeError(
      `\`clientCert\` ${visibleShellWord(path)}: the PKCS #12 file cannot be read: ${message}`,
    )
  }
  if (!der)
    throw new TypeError(
      `\`clientCert\` ${visibleShellWord(path)}: the PKCS #12 file holds no certificate with its key`,
    )
  return { identity, certificate: new X509Certificate(der) }
}

/** Extended key usage for a TLS client (RFC 5280 §4.2.1.12, id-kp-clientAuth). */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/**
 * What is wrong with a client certificate that does not stop it being sent, in words, for a
 * warning each: out of its dates (a server refuses it: OpenSSL's `certificate expired` alert), or
 * an extended key usage without TLS client authentication (a server's certificate given by
 * mistake, which servers refuse with `unsupported certificate`). Pure.
 */
export function clientCertWarnings(
  // `keyUsage`: undefined where the certificate has no extended key usage (typed otherwise by Node).
  certificate: { validFrom: string; validTo: string; keyUsage?: readonly string[] },
  path: string,
  now = Date.now(),
): string[] {
  const warnings: string[] = []
  const utc = (date: string) => new Date(date).toISOString().slice(0, 16).replace('T', ' ')
  const clock = `this machine's clock says ${utc(new Date(now).toISOString())} UTC`
  if (Date.parse(certificate.validTo) < now)
    warnings.push(
      `the client certificate of ${visibleShellWord(path)} expired on ${utc(certificate.validTo)} UTC (${clock}): servers will most likely refuse it`,
    )
  else if (Date.parse(certificate.validFrom) > now)
    warnings.push(
      `the client certificate of ${visibleShellWord(path)} is valid only from ${utc(certificate.validFrom)} UTC (${clock}): servers will most likely refuse it`,
    )
  const usage = certificate.keyUsage
  if (usage && usage.length > 0 && !usage.includes(CLIENT_AUTH) && !usage.includes('2.5.29.37.0'))
    warnings.push(
      `the certificate of ${visibleShellWord(path)} is not meant for a TLS client (its extended key usage lacks clientAuth): servers will most likely refuse it`,
    )
  return warnings
}

/** Warnings already given (once a process: a worker resolves each shard's options). */
const warned = new Set<string>()

/** Emit `clientCertWarnings` for `cert`, each once a process (`IMGPULL_CLIENT_CERT`). */
export function warnClientCert(cert: ClientCert, path: string): void {
  for (const words of clientCertWarnings(cert.certificate, path)) {
    if (warned.has(words)) continue
    warned.add(words)
    process.emitWarning(words, { code: 'IMGPULL_CLIENT_CERT' })
  }
}

/** The client certificates read as options were resolved, by those resolved options. */
const identities = new WeakMap<object, ClientIdentity>()

/** Remember `identity` for these resolved options (read when they are resolved). */
export function attachClientIdentity(options: object, identity: ClientIdentity): void {
  identities.set(options, identity)
}

/**
 * The client identity of resolved options: the one read when they were resolved, else read now
 * (options copied after resolving), `undefined` without `clientCert`.
 */
export function clientIdentityOf(options: ClientCertFiles): ClientIdentity | undefined {
  return identities.get(options) ?? readClientCert(options)?.identity
}
