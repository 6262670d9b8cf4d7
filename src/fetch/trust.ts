import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { errorCode, OptionFileError } from '../errors.js'
import { visibleShellWord } from '../utils/command-line.js'
import { outOfDescriptors } from '../utils/descriptors.js'
import { certificateKind, fileFault, nearFileSync, ofKind } from '../utils/near-file.js'
import { readOptionFileSync } from '../utils/option-file.js'
import { tildeHint } from '../utils/tilde.js'
import type { ClientIdentity } from './client-cert.js'
import { unquoted } from './proxy.js'

/**
 * A PEM certificate, or OpenSSL's TRUSTED CERTIFICATE (`openssl x509 -trustout`, Fedora's
 * `ca-bundle.trust.crt`: the certificate, then the purposes it is trusted or rejected for), which
 * curl and OpenSSL read and Node's TLS contexts take with its purposes kept.
 */
const PEM = /-----BEGIN (TRUSTED )?CERTIFICATE-----[^-]+-----END \1CERTIFICATE-----/g

/**
 * A certificate file or folder that could not be read for want of a file descriptor (EMFILE,
 * ENFILE) is thrown as it is, never passed over, warned about or remembered: whom to trust is read
 * with the first https:// connection, often deep in a run over many hosts (a transfer thread's, at
 * its start), where every descriptor is taken. Passed over, `SSL_CERT_DIR`'s, `SSL_CERT_FILE`'s or
 * `NODE_EXTRA_CA_CERTS`' private CA was left out of the run's trust: every file of its hosts failed
 * as `tls` (`ulimit -n 64`, `-c 128`: 30 of 30). Thrown, the connection fails as one that found no
 * descriptor does, and the file waits and is tried again (see `outOfDescriptors`).
 */
function unlessShort(error: unknown): void {
  if (outOfDescriptors(error)) throw error
}

/**
 * The certificates of a PEM file (one or more, as `NODE_EXTRA_CA_CERTS` takes). Throws a
 * `TypeError` naming the option and the file when it cannot be read or holds no valid certificate;
 * the file system's error where no descriptor was left (see `unlessShort`).
 */
export function readCaFile(path: string, option = 'caCert', check = true): string[] {
  let bytes: Buffer
  try {
    bytes = readOptionFileSync(path)
  } catch (error) {
    unlessShort(error)
    // A folder of certificates is what SSL_CERT_DIR takes (OpenSSL's `-CApath`), not a file's option.
    const folder =
      errorCode(error) === 'EISDIR'
        ? ` is a folder (SSL_CERT_DIR=${visibleShellWord(path)} takes a folder of certificates)`
        : `: ${fileFault(error)}${tildeHint(path, errorCode(error))}${errorCode(error) === 'ENOENT' ? nearFileSync(path, ofKind(certificateKind)) : ''}`
    throw new OptionFileError(
      option,
      path,
      `Expected \`${option}\` to be a readable PEM file: ${visibleShellWord(path)}${folder}`,
    )
  }
  const pems = certificatesOf(bytes)
  if (pems.length === 0)
    throw new TypeError(
      `Expected \`${option}\` to hold PEM certificates: ${visibleShellWord(path)} has none${heldInstead(bytes, path)}`,
    )
  // Each certificate parsed here (`check`) is named when it cannot be read; a system bundle of
  // ~150 is left to TLS to parse (checking them all costs ~50 ms of every run's start).
  for (const [i, pem] of check ? pems.entries() : []) {
    try {
      new X509Certificate(pem)
    } catch (error) {
      throw new TypeError(
        `${visibleShellWord(path)}: certificate ${i + 1} cannot be read: ${(error as Error).message}`,
      )
    }
  }
  return pems
}

/**
 * The certificates of a file: its PEM ones, else the file as one DER certificate (a `.cer` or
 * `.der` as Windows, Java's keytool and browsers export a CA), in PEM. A DER certificate was
 * refused as holding no certificate, and passed over in SSL_CERT_DIR without a word.
 */
export function certificatesOf(bytes: Buffer): string[] {
  const text = pemText(bytes)
  const pems = text.match(PEM)
  if (pems) return pems.map(rewrapped)
  // A PKCS #7 bundle in PEM (`openssl crl2pkcs7`, a chain exported from Windows as Base64).
  const pkcs7 = /-----BEGIN PKCS7-----([^-]+)-----END PKCS7-----/.exec(text)
  if (pkcs7) return asPems(pkcs7Certificates(Buffer.from(pkcs7[1], 'base64')))
  // A DER certificate, or a DER PKCS #7 bundle, is one ASN.1 SEQUENCE (0x30): parsed only then.
  if (bytes[0] !== 0x30) return []
  try {
    return [new X509Certificate(bytes).toString()]
  } catch {
    return asPems(pkcs7Certificates(bytes))
  }
}

/**
 * A PEM certificate as OpenSSL writes it: its base64 in lines of 64, each at a line's start. One
 * whose lines are indented (pasted out of a YAML file or a Kubernetes ConfigMap), which RFC 7468
 * §3's lax grammar takes and OpenSSL does not (`bad end line`, openssl/openssl#8815), was refused.
 */
function rewrapped(pem: string): string {
  const [, label, body] = /^-----BEGIN ([A-Z ]+)-----([^-]*)/.exec(pem) ?? []
  const lines = body?.replace(/\s+/g, '').match(/.{1,64}/g)
  return lines ? `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n` : pem
}

/**
 * A PEM file's text: UTF-16 where the file begins with its byte order mark, as Windows PowerShell 5
 * writes any text it redirects (`>`, `Out-File`: a CA copied out of the certificate store so, or
 * echoed from a variable), else each byte a character. Such a file was said to hold no certificate
 * (awslabs/aws-c-io#280; OpenSSL, and so curl and Node, read no PEM in it either).
 */
export function pemText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le')
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const little = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)))
    return little.swap16().toString('utf16le')
  }
  return bytes.toString('latin1')
}

/** DER certificates as PEM; one that does not parse is left out. */
function asPems(ders: Buffer[]): string[] {
  return ders.flatMap((der) => {
    try {
      return [new X509Certificate(der).toString()]
    } catch {
      return []
    }
  })
}

/** The OID of PKCS #7 signed data (1.2.840.113549.1.7.2), as DER writes it. */
const SIGNED_DATA = Buffer.from('2a864886f70d010702', 'hex')

/**
 * The certificates of a PKCS #7 bundle in DER (RFC 2315 §9.1: ContentInfo, signed data, its
 * `certificates` [0]): what Windows exports a chain as (`.p7b`, 'PKCS #7 Certificates') and what
 * a company's IT often hands out its CA in. `[]` for anything else. Only the ASN.1 framing is
 * walked: each certificate is parsed by Node.
 */
export function pkcs7Certificates(der: Buffer): Buffer[] {
  const info = derElement(der, 0, der.length)
  if (info?.tag !== 0x30) return []
  const [type, content] = derChildren(der, info)
  if (type?.tag !== 0x06 || !der.subarray(type.start, type.end).equals(SIGNED_DATA) || content?.tag !== 0xa0)
    return []
  const signed = derChildren(der, content)[0]
  if (signed?.tag !== 0x30) return []
  // version, digestAlgorithms, contentInfo, then certificates [0] IMPLICIT, when there are any.
  const certificates = derChildren(der, signed).find((child, i) => i >= 3 && child.tag === 0xa0)
  return certificates
    ? derChildren(der, certificates)
        .filter((child) => child.tag === 0x30)
        .map((child) => der.subarray(child.at, child.end))
    : []
}

/** A DER element: its tag, where it begins (`at`), and its contents' start and end. */
interface DerElement {
  tag: number
  at: number
  start: number
  end: number
}

/** The DER element at `at`, or `undefined` when it does not fit before `end` (not DER). */
function derElement(der: Buffer, at: number, end: number): DerElement | undefined {
  if (at + 2 > end) return undefined
  const tag = der[at]
  let length = der[at + 1]
  let start = at + 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0 || octets > 4 || start + octets > end) return undefined
    length = der.readUIntBE(start, octets)
    start += octets
  }
  return start + length > end ? undefined : { tag, at, start, end: start + length }
}

/** The elements inside `parent`, up to the first that is not DER. */
function derChildren(der: Buffer, parent: { start: number; end: number }): DerElement[] {
  const found: DerElement[] = []
  for (let at = parent.start; at < parent.end; ) {
    const child = derElement(der, at, parent.end)
    if (!child) break
    found.push(child)
    at = child.end
  }
  return found
}

/** The OID of PKCS #7 data (1.2.840.113549.1.7.1), which a PKCS #12 file's contents are. */
const DATA = Buffer.from('2a864886f70d010701', 'hex')

/**
 * What a file that holds no certificate holds instead, in words with what to do, for the
 * message that says so: a PKCS #12 file (`.pfx`, `.p12`: a key and its certificates, as Windows
 * and Java export them, password-protected), or the PEM blocks it has (a private key, a request).
 * '' when it is none of these.
 */
export function heldInstead(bytes: Buffer, path: string): string {
  const labels = pemLabels(bytes)
  if (labels) return labels
  return isPkcs12(bytes)
    ? ` (it is a PKCS #12 file, a key with its certificates: openssl pkcs12 -in ${visibleShellWord(path)} -nokeys -out ca.pem takes the certificates out)`
    : ''
}

/** The kinds of PEM block a file holds, in words (` (it holds a PEM PRIVATE KEY)`); '' for none. */
export function pemLabels(bytes: Buffer): string {
  const labels = [...new Set([...pemText(bytes).matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]))]
  return labels.length > 0 ? ` (it holds ${labels.map((label) => `a PEM ${label}`).join(', ')})` : ''
}

/**
 * Whether `bytes` are a PKCS #12 file (RFC 7292 §4: PFX, version 3, its contents PKCS #7 data):
 * a `.p12` or `.pfx`, whatever its name.
 */
export function isPkcs12(bytes: Buffer): boolean {
  const top = derElement(bytes, 0, bytes.length)
  const [version, content] = top?.tag === 0x30 ? derChildren(bytes, top) : []
  const type = content?.tag === 0x30 ? derChildren(bytes, content)[0] : undefined
  return (
    version?.tag === 0x02 &&
    bytes[version.start] === 3 &&
    type?.tag === 0x06 &&
    bytes.subarray(type.start, type.end).equals(DATA)
  )
}

/**
 * The variables naming a CA file to trust besides Node's store: OpenSSL's `SSL_CERT_FILE` (curl,
 * wget, git), and curl's own `CURL_CA_BUNDLE`, which a company's setup script often sets for curl
 * alone (requests reads it too): curl fetched with it what imgpull refused as an unknown authority.
 * A value in quotes (`SSL_CERT_FILE="/etc/ssl/corp.pem"`, as `.env` files, `docker run --env-file`
 * and systemd's `EnvironmentFile` keep it; docker/cli#3630) is the path inside them, as for the
 * proxy variables (see `unquoted`): its CA was left out, `'"/etc/ssl/corp.pem"': no such file`.
 * So for `SSL_CERT_DIR` and `NODE_EXTRA_CA_CERTS` (Node reads no file then: its certificates are
 * added here).
 */
const CA_FILE_VARIABLES = ['SSL_CERT_FILE', 'CURL_CA_BUNDLE'] as const

/** `SSL_CERT_FILE`, `CURL_CA_BUNDLE` and `SSL_CERT_DIR` values already warned about (once a process). */
const warned = new Set<string>()

/**
 * Where this thread's certificate warnings go: `process.emitWarning`, or, on a transfer thread, the
 * main thread (see `sayCaWarningsVia`), with `once`, the key they are said once a process by.
 */
let sayCa = (message: string, code: string, _once: string) => process.emitWarning(message, { code })

/** Warn once a process that `variable`'s `value` is left out, with why. */
function warnOnce(variable: string, value: string, why: string): void {
  if (warned.has(`${variable}=${value}`)) return
  warned.add(`${variable}=${value}`)
  sayCa(`${why}; its certificates are not trusted`, `IMGPULL_${variable}`, `${variable}=${value}`)
}

/**
 * Send this thread's certificate warnings to `say` (a transfer thread's to the main thread, which
 * says them with `caWarningOnce`): a thread reads whom to trust with its own first https://
 * connection, and the main thread, which may open none, says what it found.
 */
export function sayCaWarningsVia(say: (message: string, code: string, once: string) => void): void {
  sayCa = say
}

/** A transfer thread's certificate warning (see `sayCaWarningsVia`), said once a process with this thread's own. */
export function caWarningOnce(message: string, code: string, once: string): void {
  if (warned.has(once)) return
  warned.add(once)
  process.emitWarning(message, { code })
}

/** `c_rehash`'s names: a certificate's subject hash, `.`, a number (`.r` and one for CRLs). */
const HASH_NAME = /^[0-9a-f]{8}\.r?\d+$/

/**
 * What `certDirCas` found, by `SSL_CERT_DIR` value, with the folders' modification times then
 * (`folderTimes`): a run's agent and proxy connections ask alike, and a later run (a library
 * caller's next pull()) reads the folders again only when a name was added, removed or renamed in one.
 */
const certDirs = new Map<string, { times: string; cas: string[] }>()

/** The modification times (ms) of `dirs`, one `:`-separated word; -1 for one that cannot be read. */
const folderTimes = (dirs: readonly string[]): string =>
  dirs
    .map((dir) => {
      try {
        return statSync(dir).mtimeMs
      } catch {
        return -1
      }
    })
    .join(':')

/**
 * The certificates in the folders of `SSL_CERT_DIR` (OpenSSL's: `:`-separated, each file one or
 * more PEM certificates, as `c_rehash` or a distribution's `/etc/ssl/certs` leaves them; the
 * same certificate under several names is taken once, and a hash-named link beside the files it
 * points to is not read again). A file that holds none (a CRL, a README) is passed over; a folder
 * that cannot be read is warned about once and left out. Read again when a folder changed (see
 * `certDirs`): it was read once a process, so a CA a user added there was not trusted by a library
 * caller's next pull(), where one added to `SSL_CERT_FILE` was (that file is read each run).
 */
function certDirCas(value: string): string[] {
  const dirs = value.split(':').filter(Boolean)
  const times = folderTimes(dirs)
  const known = certDirs.get(value)
  if (known?.times === times) return known.cas
  const found = new Set<string>()
  for (const dir of dirs) {
    let entries: import('node:fs').Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch (error) {
      unlessShort(error)
      // A file given as the folder: said so, as a folder given as a file is (see `readCaFile`).
      const why =
        errorCode(error) === 'ENOTDIR'
          ? `is a file, not a folder (SSL_CERT_FILE=${visibleShellWord(dir)} takes a file of certificates)`
          : (error as Error).message
      warnOnce('SSL_CERT_DIR', dir, `SSL_CERT_DIR: ${visibleShellWord(dir)}: ${why}`)
      continue
    }
    const named = entries.some((e) => !HASH_NAME.test(e.name))
    for (const entry of entries) {
      if (named && entry.isSymbolicLink() && HASH_NAME.test(entry.name)) continue
      try {
        const path = join(dir, entry.name)
        if (!entry.isFile() && !statSync(path).isFile()) continue
        for (const pem of certificatesOf(readFileSync(path))) found.add(pem)
      } catch (error) {
        unlessShort(error)
        // A dangling link or an unreadable file: OpenSSL passes over it too.
      }
    }
  }
  const cas = [...found]
  certDirs.set(value, { times, cas })
  return cas
}

/**
 * A certificate's PEM text without its line breaks: the same certificate, however it was wrapped,
 * and a TRUSTED CERTIFICATE as its certificate alone (the DER SEQUENCE its purposes follow).
 */
function unwrapped(pem: string): string {
  const text = pem.replace(/\s+/g, '')
  if (!text.startsWith('-----BEGINTRUSTED')) return text
  const der = Buffer.from(text.replace(/-----[A-Z]+-----/g, ''), 'base64')
  const octets = der[1] & 0x80 ? der[1] & 0x7f : 0
  let length = octets ? 0 : der[1]
  for (let i = 0; i < octets; i++) length = length * 256 + der[2 + i]
  const certificate = der.subarray(0, 2 + octets + length).toString('base64')
  return `-----BEGINCERTIFICATE-----${certificate}-----ENDCERTIFICATE-----`
}

/** A PEM certificate as Node reads `NODE_EXTRA_CA_CERTS` (it passes over a TRUSTED CERTIFICATE). */
const plainPem = (pem: string) => pem.startsWith('-----BEGIN CERTIFICATE-----')

/** The text of `NODE_EXTRA_CA_CERTS`, read once a process; `undefined` when it cannot be read. */
const nodeExtraFiles = new Map<string, Buffer | undefined>()

function nodeExtraFile(path: string): Buffer | undefined {
  if (!nodeExtraFiles.has(path)) {
    let bytes: Buffer | undefined
    try {
      bytes = readFileSync(path)
    } catch (error) {
      unlessShort(error)
      // Node warns about it itself.
    }
    nodeExtraFiles.set(path, bytes)
  }
  return nodeExtraFiles.get(path)
}

/**
 * The PEM blocks of a `NODE_EXTRA_CA_CERTS` file as Node's OpenSSL reads them (`read`), and those it
 * does not (`over`): one whose `BEGIN` line is indented (a CA pasted out of YAML) is no start of a
 * PEM to it, passed over without a word; one whose `END` line alone is stops its reading there
 * (`bad end line`, Node warns that it ignores the file), and all are then taken as not read
 * (one Node did read is added again, to no harm). Such a CA was not trusted, and the failure said
 * to set the very variable that was set.
 */
function nodeExtraBlocks(bytes: Buffer): { read: string[]; over: string[] } {
  const text = bytes.toString('latin1')
  const atLineStart = (at: number) => at === 0 || text[at - 1] === '\n'
  const blocks = [...text.matchAll(PEM)].map((m) => ({
    pem: m[0],
    begins: atLineStart(m.index),
    ends: atLineStart(m.index + m[0].lastIndexOf('-----END')),
  }))
  if (blocks.some((b) => b.begins && !b.ends)) return { read: [], over: blocks.map((b) => b.pem) }
  return {
    read: blocks.filter((b) => b.begins).map((b) => b.pem),
    over: blocks.filter((b) => !b.begins).map((b) => b.pem),
  }
}

/** The certificates of `NODE_EXTRA_CA_CERTS` that Node read itself (its PEM certificates). */
function nodeExtraCas(env: NodeJS.ProcessEnv): string[] {
  const bytes = env.NODE_EXTRA_CA_CERTS ? nodeExtraFile(env.NODE_EXTRA_CA_CERTS) : undefined
  // A DER file's certificate, or a PKCS #7 bundle's, comes back from `certificatesOf` as PEM:
  // Node read none of it. Its PEM certificates are those of the text.
  return bytes ? nodeExtraBlocks(bytes).read.filter(plainPem) : []
}

/**
 * The certificates of `NODE_EXTRA_CA_CERTS` that Node passes over without a word: a DER file's
 * (a Windows `.cer`), a PKCS #7 bundle's (`.p7b`), OpenSSL's TRUSTED CERTIFICATEs. A plain
 * bundle is read, not parsed, nor Node's roots listed: about 2 ms of the start for a system
 * bundle of 140.
 */
function nodePassedOver(env: NodeJS.ProcessEnv): string[] {
  const value = env.NODE_EXTRA_CA_CERTS ?? ''
  // Its path in quotes: Node read no file (and said so); the one inside them is read whole.
  if (unquoted(value) !== value) {
    const bytes = unquoted(value) ? nodeExtraFile(unquoted(value)) : undefined
    return bytes ? certificatesOf(bytes) : []
  }
  const bytes = value ? nodeExtraFile(value) : undefined
  if (!bytes) return []
  if (!bytes.includes('-----BEGIN ')) return certificatesOf(bytes)
  // A PKCS #7 bundle alone (`certificatesOf` reads one only where no certificate is in PEM).
  if (bytes.includes('-----BEGIN PKCS7-----') && !bytes.toString('latin1').match(PEM))
    return certificatesOf(bytes)
  const { read, over } = nodeExtraBlocks(bytes)
  return [...read.filter((pem) => !plainPem(pem)), ...over].map(rewrapped)
}

/**
 * Node's own store: `trusted`, every certificate it holds (its bundled Mozilla roots and
 * `NODE_EXTRA_CA_CERTS`), each `unwrapped`; `beyondRoots`, those of `NODE_EXTRA_CA_CERTS` its
 * roots lack, as PEM.
 */
interface NodeStore {
  trusted: Set<string>
  beyondRoots: string[]
}

/** Node's own store, by `NODE_EXTRA_CA_CERTS` value. */
const nodeStores = new Map<string, NodeStore>()

/**
 * The certificates Node trusts already: what `SSL_CERT_FILE` and `SSL_CERT_DIR` repeat of them
 * needs no TLS context of the run's own, and what the run's context must add back (see
 * `trustedContext`). Built once a process.
 */
function nodeStore(env: NodeJS.ProcessEnv): NodeStore {
  const key = env.NODE_EXTRA_CA_CERTS ?? ''
  let store = nodeStores.get(key)
  if (!store) {
    const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
    const trusted = new Set(tls.rootCertificates.map(unwrapped))
    const beyondRoots = nodeExtraCas(env).filter((pem) => {
      const known = unwrapped(pem)
      if (trusted.has(known)) return false
      trusted.add(known)
      return true
    })
    store = { trusted, beyondRoots }
    nodeStores.set(key, store)
  }
  return store
}

/**
 * Certificates added to Node's own store (its bundled Mozilla roots plus `NODE_EXTRA_CA_CERTS`):
 * those of `SSL_CERT_FILE` (and curl's `CURL_CA_BUNDLE`) and of the folders of `SSL_CERT_DIR`,
 * the variables OpenSSL-based tools (curl, wget, git) read and Node does not (often the system's bundle, with a company's CA
 * in it), less those Node's store holds already, then those of `caCert` (each file). Both add
 * trust, never take any away. Throws the file system's error where no descriptor was left to read
 * one (see `unlessShort`), a `TypeError` naming `caCert` when its file cannot be read or
 * holds no certificate; an unusable `SSL_CERT_FILE` is warned about once (`IMGPULL_SSL_CERT_FILE`)
 * and left out, as Node does with `NODE_EXTRA_CA_CERTS`: other programs read it too.
 */
export function extraCas(
  caCert: string | readonly string[] | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  let fromEnv: string[] = []
  // The same file as NODE_EXTRA_CA_CERTS (a common setup) is in Node's store already, and one
  // file named by both variables is read once.
  const read = new Set([resolve(env.NODE_EXTRA_CA_CERTS || '.')])
  for (const variable of CA_FILE_VARIABLES) {
    const file = unquoted(env[variable] ?? '')
    if (!file || read.has(resolve(file))) continue
    read.add(resolve(file))
    try {
      fromEnv.push(...readCaFile(file, variable, false))
    } catch (error) {
      unlessShort(error)
      warnOnce(variable, file, (error as Error).message)
    }
  }
  let fromDir = env.SSL_CERT_DIR ? certDirCas(unquoted(env.SSL_CERT_DIR)) : []
  // What Node passed over in NODE_EXTRA_CA_CERTS: added here, as curl would read that file.
  let passedOver = nodePassedOver(env)
  if (fromEnv.length > 0 || fromDir.length > 0 || passedOver.length > 0) {
    // Most often the system's bundle, whole or file by file: only what it adds to Node's store
    // makes a TLS context of the run's own (see `trustedContext`), built at the run's start.
    const trusted = new Set(nodeStore(env).trusted)
    const added = (pem: string) => {
      const key = unwrapped(pem)
      if (trusted.has(key)) return false
      trusted.add(key)
      return true
    }
    passedOver = passedOver.filter(added)
    fromEnv = fromEnv.filter(added)
    fromDir = fromDir.filter(added)
  }
  return [...passedOver, ...fromEnv, ...fromDir, ...[caCert ?? []].flat().flatMap((file) => readCaFile(file))]
}

/**
 * Every certificate a run trusts, as PEM: Node's bundled roots, what `NODE_EXTRA_CA_CERTS` adds to
 * them, and `extraCas` (the variables, `caCert`): the anchors an issuer fetched must chain to (see aia.ts).
 */
export function trustedPems(caCert: string | readonly string[] | undefined): string[] {
  const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  return [...tls.rootCertificates, ...nodeStore(process.env).beyondRoots, ...extraCas(caCert)]
}

/**
 * What undici's connector trusts: `undefined` for Node's own store; with extra certificates (see
 * `extraCas`), one TLS context made once for the run: Node's store (its bundled roots and
 * `NODE_EXTRA_CA_CERTS`) plus them, each trusted on its own (a partial chain). Built by adding
 * to Node's store, not by listing it as `ca` (which replaces the store, so every root had to be
 * spelt out and parsed again: 60–80 ms of every run's start, against ~10 ms). With `identity`
 * (a client certificate), always a context of its own, which shows it to servers that ask: a
 * connection given a `secureContext` takes its `cert` and `key` from it alone.
 */
export function trustedContext(
  caCert: string | readonly string[] | undefined,
  identity?: ClientIdentity,
  /** A context even when it adds nothing to Node's store (one to add an issuer fetched to: aia.ts). */
  always = false,
): import('node:tls').SecureContext | undefined {
  const extra = extraCas(caCert)
  if (extra.length === 0 && !identity && !always) return undefined
  // node:tls is loaded here only with extra certificates (undici loads it with the first https:// URL).
  const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  // A CA given is trusted even when it is an intermediate whose root is not (a company's issuing
  // CA, handed out without its offline root), as curl and wget trust it (OpenSSL's partial chains).
  const context = tls.createSecureContext({
    allowPartialTrustChain: true,
    ...identity,
  } as import('node:tls').SecureContextOptions)
  // The first certificate added copies Node's store into the context: Node 22 and 24 copy
  // NODE_EXTRA_CA_CERTS with its bundled roots, Node 20 only the roots, so what NODE_EXTRA_CA_CERTS
  // adds to them is added again. (Node itself only warns about an unreadable one; so do we.)
  for (const pem of [...nodeStore(process.env).beyondRoots, ...extra]) context.context.addCACert(pem)
  return context
}
