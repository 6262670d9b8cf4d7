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

export function makeCerts(dir: string): TestCerts {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const path = (name: string) => join(dir, name)
  run([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    '/CN=imgpull test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ])
  run([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    LOCAL,
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
  ])
  /** A key and a certificate `issuer` (its `.pem` and `.key`) signs, with the extensions `ext`. */
  const signed = (name: string, subject: string, ext: string, issuer = 'ca', digest = '-sha256') => {
    run(['req', '-new', ...EC, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`])
    writeFileSync(path(`${name}.ext`), `${ext}\n`)
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      digest,
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ])
    return { cert: path(`${name}.pem`), key: path(`${name}.key`) }
  }
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
  // `openssl ca` is the one command of OpenSSL 3.0 that sets dates in the past.
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
      '[leaf]',
      LOCAL,
      '',
    ].join('\n'),
  )
  /** A key and a certificate the CA signs for localhost, valid from `start` to `end` (UTC, YYYYMMDDHHMMSSZ). */
  const dated = (name: string, start: string, end: string) => {
    run(['req', '-new', ...EC, '-subj', '/CN=localhost', '-keyout', `${name}.key`, '-out', `${name}.csr`])
    run([
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-notext',
      '-extensions',
      'leaf',
      '-startdate',
      start,
      '-enddate',
      end,
    ])
    return { cert: path(`${name}.pem`), key: path(`${name}.key`) }
  }
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

/** `{ key, cert }` buffers for a TLS server. */
export function tlsPair(pair: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) }
}
