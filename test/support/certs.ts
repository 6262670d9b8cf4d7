import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Certificates made with openssl for one test run, in `dir`: a private CA and what real servers get
 * wrong with TLS. Paths to PEM files; each `key` beside its certificate.
 */
export interface TestCerts {
  /** The private CA's certificate (what `--ca-cert` and `NODE_EXTRA_CA_CERTS` take). */
  ca: string
  /** Signed by the CA, for localhost and 127.0.0.1. */
  good: { cert: string; key: string }
  /** Signed by the CA, for another host name only. */
  otherHost: { cert: string; key: string }
  /** Signed by the CA, valid for one day in 2020. */
  expired: { cert: string; key: string }
  /** Signed by the CA, valid for one day in 2099 (a server's clock ahead, or this machine's behind). */
  notYetValid: { cert: string; key: string }
  /** Self-signed, for localhost and 127.0.0.1. */
  selfSigned: { cert: string; key: string }
  /** An intermediate CA the CA signed (a company's issuing CA). */
  intermediate: string
  /** Signed by the intermediate, for localhost and 127.0.0.1; `cert` holds the leaf then the intermediate. */
  viaIntermediate: { cert: string; key: string }
  /** Signed by the CA with SHA-1, for localhost and 127.0.0.1 (OpenSSL 3's security level refuses it). */
  sha1: { cert: string; key: string }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
const LOCAL = 'subjectAltName=DNS:localhost,IP:127.0.0.1'

/** openssl with `args`, in `dir`. */
const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

/**
 * In `dir`, a key and a certificate for `subject` that `issuer` (its `.pem` and `.key` there) signs,
 * with the extensions `ext`, valid for two days, or from `dates[0]` to `dates[1]` (UTC,
 * YYYYMMDDHHMMSSZ: `openssl ca`, the one command of OpenSSL 3.0 that sets dates in the past, with
 * the CA's `ca.cnf` that `makeCerts` writes).
 */
function signedCert(
  dir: string,
  name: string,
  subject: string,
  ext: string,
  {
    issuer = 'ca',
    digest = '-sha256',
    dates,
  }: { issuer?: string; digest?: string; dates?: [string, string] } = {},
): { cert: string; key: string } {
  const run = (args: string[]) => openssl(dir, args)
  run(['req', '-new', ...EC, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`])
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`)
  const how = dates
    ? `ca -batch -config ca.cnf -notext -cert ${issuer}.pem -keyfile ${issuer}.key -startdate ${dates[0]} -enddate ${dates[1]}`
    : `x509 -req -CAcreateserial -days 2 ${digest} -CA ${issuer}.pem -CAkey ${issuer}.key`
  run([...how.split(' '), '-in', `${name}.csr`, '-extfile', `${name}.ext`, '-out', `${name}.pem`])
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }
}

/**
 * In `dir`, where `makeCerts` made its CA: a key and a certificate for `subject` the CA (or
 * `issuer`, by its name there) signs, with the extensions `ext` (`subjectAltName=DNS:127.0.0.1`:
 * what real servers write wrong).
 */
export const caSigned = (dir: string, name: string, subject: string, ext: string, issuer = 'ca') =>
  signedCert(dir, name, subject, ext, { issuer })

/** In `dir`, a key (`name.key`) and a certificate (`name.pem`) for `subject` it signs itself, valid for two days. */
export function selfSigned(dir: string, name: string, subject: string, more: string[] = []): void {
  const args = ['req', '-x509', ...EC, '-days', '2', '-subj', subject, ...more]
  openssl(dir, [...args, '-keyout', `${name}.key`, '-out', `${name}.pem`])
}

export function makeCerts(dir: string): TestCerts {
  const path = (name: string) => join(dir, name)
  selfSigned(dir, 'ca', '/CN=imgpull test CA')
  selfSigned(dir, 'self', '/CN=localhost', ['-addext', LOCAL])
  const signed = (name: string, subject: string, ext: string, issuer = 'ca', digest = '-sha256') =>
    signedCert(dir, name, subject, ext, { issuer, digest })
  const leaf = (name: string, san: string) => signed(name, '/CN=leaf', san)
  const good = leaf('good', LOCAL)
  // An issuing CA under the root, and a leaf it signs, served with it (leaf, then intermediate).
  const int = signed(
    'int',
    '/CN=imgpull test issuing CA',
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign',
  )
  const viaInt = signed('via-int', '/CN=leaf', LOCAL, 'int')
  writeFileSync(path('via-int-chain.pem'), readFileSync(viaInt.cert, 'utf8') + readFileSync(int.cert, 'utf8'))
  const otherHost = leaf('other', 'subjectAltName=DNS:images.example.org')
  const sha1 = signed('sha1', '/CN=leaf', LOCAL, 'ca', '-sha1')
  // For `openssl ca` (see `signedCert`): its database, serial and policy.
  writeFileSync(path('index.txt'), '')
  writeFileSync(path('serial'), '1000\n')
  writeFileSync(
    path('ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  )
  /** A key and a certificate the CA signs for localhost, valid from `start` to `end` (UTC, YYYYMMDDHHMMSSZ). */
  const dated = (name: string, start: string, end: string) =>
    signedCert(dir, name, '/CN=localhost', LOCAL, { dates: [start, end] })
  const expired = dated('expired', '20200101000000Z', '20200102000000Z')
  const notYetValid = dated('not-yet', '20990101000000Z', '20990102000000Z')
  return {
    ca: path('ca.pem'),
    good,
    sha1,
    otherHost,
    expired,
    notYetValid,
    selfSigned: { cert: path('self.pem'), key: path('self.key') },
    intermediate: int.cert,
    viaIntermediate: { cert: path('via-int-chain.pem'), key: viaInt.key },
  }
}

/**
 * In `dir`, where `makeCerts` made its CAs: a leaf for localhost and 127.0.0.1 that the issuing CA
 * signs, whose Authority Information Access says its issuer's certificate is at `url` (as public
 * CAs write it: `CA Issuers - URI:http://r11.i.lencr.org/`), and that issuing CA's certificate in
 * DER (`issuerDer`), as such a URL serves it. A server that sends the leaf alone leaves out its
 * intermediate, which browsers fetch from there.
 */
export function aiaLeaf(dir: string, url: string): { cert: string; key: string; issuerDer: string } {
  const leaf = signedCert(dir, 'aia', '/CN=leaf', `${LOCAL}\nauthorityInfoAccess=caIssuers;URI:${url}`, {
    issuer: 'int',
  })
  openssl(dir, ['x509', '-in', 'int.pem', '-outform', 'DER', '-out', 'int.der'])
  return { ...leaf, issuerDer: join(dir, 'int.der') }
}

/**
 * In `dir`, where `makeCerts` made its CAs: a certificate `name` for `subject` that `issuer` (its
 * `.pem` and `.key` there) signs, a CA when `ca`, else a leaf for localhost and 127.0.0.1, whose
 * Authority Information Access says its issuer's certificate is at `url` (none without), and its
 * DER beside it (`der`), as an AIA URL serves it.
 */
export function aiaCert(
  dir: string,
  name: string,
  subject: string,
  { issuer, url, ca = false }: { issuer: string; url?: string; ca?: boolean },
): { cert: string; key: string; der: string } {
  const ext = [
    ca ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign' : LOCAL,
    ...(url ? [`authorityInfoAccess=caIssuers;URI:${url}`] : []),
  ].join('\n')
  const made = signedCert(dir, name, subject, ext, { issuer })
  openssl(dir, ['x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`])
  return { ...made, der: join(dir, `${name}.der`) }
}

/** `{ key, cert }` buffers for a TLS server. */
export function tlsPair(pair: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) }
}

/** Client certificates for mutual TLS, made with openssl beside `makeCerts`'s (its CA signs them). */
export interface ClientCerts {
  /** Signed by the CA, for TLS clients (extendedKeyUsage clientAuth): PEM certificate and key apart. */
  pair: { cert: string; key: string }
  /** The same certificate with its key after it in one PEM file. */
  combined: string
  /** The same in a PKCS #12 file (AES, as OpenSSL 3 exports it), password `PKCS12_PASSWORD`. */
  p12: string
  /** The same in a PKCS #12 file with RC2-40 encryption (OpenSSL 1.1's and Windows' export), same password. */
  legacyP12: string
  /** The key of `pair`, encrypted (AES-256) with `KEY_PASSWORD`. */
  encryptedKey: string
  /** `pair` in DER (a `.cer`/`.der` certificate, its key in PKCS #8 DER). */
  der: { cert: string; key: string }
  /** The key of `pair` in DER PKCS #8, encrypted with `KEY_PASSWORD`. */
  encryptedDerKey: string
  /** Self-signed: an authority no server trusts. */
  stranger: { cert: string; key: string }
  /** Signed by the CA, valid for one day in 2020. */
  expired: { cert: string; key: string }
  /** Signed by the CA for TLS servers only (extendedKeyUsage serverAuth). */
  serverOnly: { cert: string; key: string }
}

export const PKCS12_PASSWORD = 'p12 secret'
export const KEY_PASSWORD = 'key secret'

/** Make the client certificates in `dir`, where `makeCerts` made its CA. */
export function makeClientCerts(dir: string): ClientCerts {
  const run = (args: string[]) => openssl(dir, args)
  const path = (name: string) => join(dir, name)
  const signed = (name: string, ext: string, dates?: [string, string]) =>
    signedCert(dir, name, `/CN=${name}`, ext, { dates })
  const pair = signed('client', 'extendedKeyUsage=clientAuth')
  writeFileSync(path('client-combined.pem'), readFileSync(pair.cert, 'utf8') + readFileSync(pair.key, 'utf8'))
  const p12 = [
    'pkcs12',
    '-export',
    '-in',
    pair.cert,
    '-inkey',
    pair.key,
    '-passout',
    `pass:${PKCS12_PASSWORD}`,
  ]
  run([...p12, '-out', 'client.p12'])
  run([...p12, '-legacy', '-out', 'client-legacy.p12'])
  run([
    'pkey',
    '-in',
    pair.key,
    '-aes256',
    '-passout',
    `pass:${KEY_PASSWORD}`,
    '-out',
    'client-encrypted.key',
  ])
  run(['x509', '-in', pair.cert, '-outform', 'DER', '-out', 'client.der'])
  run(['pkey', '-in', pair.key, '-outform', 'DER', '-out', 'client-key.der'])
  const pkcs8 = ['pkcs8', '-topk8', '-in', pair.key, '-outform', 'DER', '-v2', 'aes256']
  run([...pkcs8, '-passout', `pass:${KEY_PASSWORD}`, '-out', 'client-encrypted-key.der'])
  selfSigned(dir, 'stranger', '/CN=stranger')
  return {
    pair,
    combined: path('client-combined.pem'),
    p12: path('client.p12'),
    legacyP12: path('client-legacy.p12'),
    encryptedKey: path('client-encrypted.key'),
    der: { cert: path('client.der'), key: path('client-key.der') },
    encryptedDerKey: path('client-encrypted-key.der'),
    stranger: { cert: path('stranger.pem'), key: path('stranger.key') },
    expired: signed('client-expired', 'extendedKeyUsage=clientAuth', ['20200101000000Z', '20200102000000Z']),
    serverOnly: signed('server-only', 'extendedKeyUsage=serverAuth'),
  }
}
