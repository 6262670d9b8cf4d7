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
  /** Self-signed, for localhost and 127.0.0.1. */
  selfSigned: { cert: string; key: string }
  /** An intermediate CA the CA signed (a company's issuing CA). */
  intermediate: string
  /** Signed by the intermediate, for localhost and 127.0.0.1; `cert` holds the leaf then the intermediate. */
  viaIntermediate: { cert: string; key: string }
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
  const leaf = (name: string, san: string) => {
    run(['req', '-new', ...EC, '-subj', '/CN=leaf', '-keyout', `${name}.key`, '-out', `${name}.csr`])
    writeFileSync(path(`${name}.ext`), `${san}\n`)
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ])
    return { cert: path(`${name}.pem`), key: path(`${name}.key`) }
  }
  const good = leaf('good', LOCAL)
  // An issuing CA under the root, and a leaf it signs, served with it (leaf, then intermediate).
  run(['req', '-new', ...EC, '-subj', '/CN=imgpull test issuing CA', '-keyout', 'int.key', '-out', 'int.csr'])
  writeFileSync(path('int.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
  run([
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'int.ext',
    '-out',
    'int.pem',
  ])
  run(['req', '-new', ...EC, '-subj', '/CN=leaf', '-keyout', 'via-int.key', '-out', 'via-int.csr'])
  writeFileSync(path('via-int.ext'), `${LOCAL}\n`)
  run([
    'x509',
    '-req',
    '-in',
    'via-int.csr',
    '-CA',
    'int.pem',
    '-CAkey',
    'int.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'via-int.ext',
    '-out',
    'via-int-leaf.pem',
  ])
  writeFileSync(
    path('via-int.pem'),
    readFileSync(path('via-int-leaf.pem'), 'utf8') + readFileSync(path('int.pem'), 'utf8'),
  )
  const otherHost = leaf('other', 'subjectAltName=DNS:images.example.org')
  // `openssl ca` is the one command of OpenSSL 3.0 that sets dates in the past.
  run(['req', '-new', ...EC, '-subj', '/CN=localhost', '-keyout', 'expired.key', '-out', 'expired.csr'])
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
    'expired.csr',
    '-out',
    'expired.pem',
    '-notext',
    '-extensions',
    'leaf',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
  ])
  return {
    ca: path('ca.pem'),
    good,
    otherHost,
    expired: { cert: path('expired.pem'), key: path('expired.key') },
    selfSigned: { cert: path('self.pem'), key: path('self.key') },
    intermediate: path('int.pem'),
    viaIntermediate: { cert: path('via-int.pem'), key: path('via-int.key') },
  }
}

/** `{ key, cert }` buffers for a TLS server. */
export function tlsPair(pair: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) }
}
