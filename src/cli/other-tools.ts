/**
 * Options of the tools imgpull stands in for (wget, aria2c, curl, gallery-dl, img2dataset), typed by their
 * users out of habit: said in their words, with imgpull's way to do the same.
 */

/** What wget's `-n` options mean: `-nc` was read as `-n c`, `--name c`, every file named `c`. */
const WGET_N: Record<string, string> = {
  c: "wget's --no-clobber: not needed, a file already in the folder is never replaced",
  v: "wget's --no-verbose: -q prints errors only",
  d: "wget's --no-directories: files go straight into -o, unless --name has a /",
  H: "wget's --no-host-directories: files go straight into -o, unless --name has {host}/",
  p: "wget's --no-parent: imgpull follows no links",
}

/**
 * A word `-nX` (before `--`): commander reads it as `-n X`, `--name X`, so wget's `-nc` named every
 * file `c`, `c-5be280bf`... with no extension, without a word. A template without a placeholder
 * attached to `-n` is no one's meaning; `--name c` still gives it. Returns the message.
 */
export function attachedName(args: readonly string[]): string | undefined {
  for (const word of args) {
    if (word === '--') return undefined
    const value = /^-n(?!-)(.+)$/.exec(word)?.[1]
    if (value === undefined || value.includes('{')) continue
    const wget = WGET_N[value]
    return `'${word}' reads as -n ${value} (--name ${value}): every file would be named ${value}${wget ? `; ${word} is ${wget}` : ''}; a name with no placeholder is given as --name ${value}`
  }
  return undefined
}

const INPUT = 'imgpull reads a list given as it is: imgpull urls.txt -o DIR'
const FOLDER = 'the folder is -o DIR'
const TIMEOUTS =
  'imgpull has --connect-timeout, --headers-timeout, --idle-timeout (silence in a body) and --total-timeout (a whole file)'

const CREDENTIALS =
  "put them in the URL before its host, as user:password@ (percent-encoded), in a .netrc file read with --netrc, or give -H 'Authorization: …'"
const VERBOSE =
  'each failure is printed with its cause, --json prints every result, imgpull status OUT sums a run up; -V is the version'

const CERT_PASSWORD =
  '--cert-password-file FILE or IMGPULL_CERT_PASSWORD (not on the command line, where every user of the machine can read it)'
const CA = "--ca-cert FILE, given again for each file (a proxy's CA and a server's)"
const CA_DIR = 'SSL_CERT_DIR=DIR in the environment (or --ca-cert FILE for each file)'
const PROXY_USER =
  'put them in the proxy URL (--proxy or HTTPS_PROXY) before its host, as user:password@ (percent-encoded)'
const proxyFor = (scheme: 'http' | 'https') =>
  `${scheme.toUpperCase()}_PROXY=URL in the environment for ${scheme}:// URLs alone, or --proxy URL for every request`

/**
 * Other tools' options whose value may carry a password (curl's `-u user:password`, `--pass`,
 * `-E cert.pem:password`), and how much of a value typed attached to one (`--pass=secret`,
 * `-ubob:secret`) may be shown: the file before the colon, or nothing. A password on the
 * terminal stays in its scrollback and in logs.
 */
const SECRET_VALUE: Record<string, 'file' | 'none'> = {
  '-E': 'file',
  '--cert': 'file',
  '-u': 'none',
  '--user': 'none',
  '-U': 'none',
  '--proxy-user': 'none',
  '--pass': 'none',
  '--password': 'none',
  '--http-password': 'none',
  '--http-passwd': 'none',
  '--proxy-password': 'none',
  '--proxy-passwd': 'none',
  '--ftp-password': 'none',
  '--key-password': 'none',
}

/** A short option of `SECRET_VALUE` with its value attached (`-ubob:secret`): the option, else `undefined`. */
const secretShort = (flag: string): string | undefined =>
  /^-[a-zA-Z]./.test(flag) && SECRET_VALUE[flag.slice(0, 2)] !== undefined ? flag.slice(0, 2) : undefined

/**
 * An unknown option as commander names it (`--pass=secret`, `-Eclient.pem:secret`), as it may be
 * shown: a value that may carry a password (see `SECRET_VALUE`) left out (`--pass=…`,
 * `-Eclient.pem:…`); any other as it is.
 */
export function withoutSecret(flag: string): string {
  const eq = flag.indexOf('=')
  const [name, sep, value] = flag.startsWith('--')
    ? eq < 0
      ? [flag, '', '']
      : [flag.slice(0, eq), '=', flag.slice(eq + 1)]
    : [secretShort(flag) ?? flag, '', flag.slice(2)]
  const kind = SECRET_VALUE[name]
  if (kind === undefined || value === '' || name === flag) return flag
  if (kind === 'none') return `${name}${sep}…`
  const colon = value.indexOf(':')
  return colon < 0 ? flag : `${name}${sep}${value.slice(0, colon + 1)}…`
}

/**
 * Other tools' TLS and proxy options: the run's, given to `imgpull` and to `imgpull enqueue` alike
 * (`--noproxy` to enqueue was offered commander's "did you mean --no-proxy?", its opposite).
 */
const TLS_PROXY: Record<string, string> = {
  '-k': "curl's --insecure: --insecure (unsafe: --ca-cert FILE trusts a private CA)",
  '--no-check-certificate': "wget's: --insecure (unsafe: --ca-cert FILE trusts a private CA)",
  '-E': "curl's --cert: --cert FILE (PEM with the key in it or in --key FILE, or a PKCS #12 .p12/.pfx)",
  '--certificate': "wget's and aria2c's client certificate: --cert FILE (PEM, or a PKCS #12 .p12/.pfx)",
  '--private-key': "wget's and aria2c's client key: --key FILE",
  '--pass': `curl's key password: ${CERT_PASSWORD}`,
  '--cert-type': "curl's: not needed, PEM, DER and PKCS #12 are told apart by their content",
  '--key-type': "curl's: not needed, PEM and DER keys are told apart by their content",
  '--certificate-type': "wget's: not needed, PEM, DER and PKCS #12 are told apart by their content",
  '--private-key-type': "wget's: not needed, PEM and DER keys are told apart by their content",
  '--proxy-cert':
    "curl's: imgpull shows no client certificate to a proxy; --cert is shown the image hosts at the tunnel's end",
  // curl's --noproxy lists hosts; imgpull's --no-proxy (wget's) drops the proxy for every host.
  '--noproxy':
    "curl's hosts reached without the proxy: NO_PROXY=host,... in the environment (imgpull's --no-proxy, as wget's, uses no proxy for any host)",
  '--proxytunnel':
    "curl's: not needed, https:// URLs always go through a CONNECT tunnel; for a proxy that only tunnels, give it for https:// alone (HTTPS_PROXY)",
  '--socks5': "curl's: --proxy socks5://HOST:PORT (names resolved here; socks5h:// leaves them to the proxy)",
  '--socks5-hostname': "curl's: --proxy socks5h://HOST:PORT",
  '--proxy-user': `curl's and wget's proxy credentials: ${PROXY_USER}`,
  '--proxy-password': `wget's proxy password: ${PROXY_USER}`,
  '--http-proxy': `aria2c's and wget2's: ${proxyFor('http')}`,
  '--https-proxy': `aria2c's and wget2's: ${proxyFor('https')}`,
  '--all-proxy': "aria2c's: --proxy URL (or ALL_PROXY=URL in the environment)",
  '--cacert': `curl's: ${CA}`,
  '--proxy-cacert': `curl's: ${CA}`,
  '--ca-certificate': `wget's and aria2c's: ${CA}`,
  '--capath': `curl's: ${CA_DIR}`,
  '--ca-directory': `wget's: ${CA_DIR}`,
  '--proxy-insecure':
    "curl's: --insecure skips the proxy's certificate checks too (unsafe: --ca-cert FILE trusts a private CA)",
}

/** Other tools' options, each with what it is and imgpull's equivalent. */
const OTHER: Record<string, string> = {
  ...TLS_PROXY,
  '-i': `wget's, aria2c's and gallery-dl's input file: ${INPUT}`,
  '--input-file': `wget's, aria2c's and gallery-dl's input file: ${INPUT}`,
  '-P': `wget's folder: ${FOLDER}`,
  '--directory-prefix': `wget's folder: ${FOLDER}`,
  '-d': `aria2c's and gallery-dl's folder: ${FOLDER}`,
  '--dir': `aria2c's folder: ${FOLDER}`,
  '-D': `gallery-dl's folder: ${FOLDER}`,
  '--destination': `gallery-dl's folder: ${FOLDER}`,
  '--output-dir': `curl's folder: ${FOLDER}`,
  '-j': "aria2c's downloads at once: -c N (128 by default)",
  '--max-concurrent-downloads': "aria2c's downloads at once: -c N (128 by default)",
  '-Z': "curl's parallel mode: imgpull always runs transfers at once, -c N of them (128 by default)",
  '--parallel': "curl's parallel mode: imgpull always runs transfers at once, -c N of them (128 by default)",
  '--parallel-max': "curl's transfers at once: -c N (128 by default)",
  '-x': "aria2c's connections per server: --per-host N; curl's proxy: --proxy URL",
  '--max-connection-per-server': "aria2c's connections per server: --per-host N",
  '-T': `wget's timeout: ${TIMEOUTS}`,
  '--timeout': `wget's, aria2c's and img2dataset's timeout: ${TIMEOUTS}`,
  '--max-time': "curl's time for a whole transfer: --total-timeout SECONDS",
  '-m': "curl's time for a whole transfer: --total-timeout SECONDS",
  '--load-cookies': "wget's and aria2c's cookies file: --cookies FILE (Netscape cookies.txt)",
  '-b': "curl's cookies: --cookies FILE (Netscape cookies.txt)",
  '-O': "curl's --remote-name: not needed, files are named from their URLs (--name)",
  '--remote-name': "curl's: not needed, files are named from their URLs (--name)",
  '--remote-name-all': "curl's: not needed, files are named from their URLs (--name)",
  '--create-dirs': "curl's: not needed, folders are made as names need them",
  '-L': "curl's --location: not needed, redirects are followed (--max-redirects N)",
  '--location': "curl's: not needed, redirects are followed (--max-redirects N)",
  // curl's hands the URL's user and password to every host a redirect leads to; imgpull never does.
  '--location-trusted':
    "curl's: not offered: a URL's user and password, and secret -H headers (Authorization...), go to its own origin only, never on a redirect to another; a redirect's Location that names user:password@ has them sent to that origin",
  '--continue': 'not needed: run the same command again, and it goes on where the last run stopped',
  '-s': "curl's --silent: -q prints errors only",
  '--silent': "curl's: -q prints errors only",
  '-U': `wget's user agent: -A, --user-agent UA; curl's --proxy-user: ${PROXY_USER}`,
  '--netrc-optional': "curl's: --netrc (or --netrc-file FILE)",
  '-u': `curl's user and password: ${CREDENTIALS}`,
  '--user': `curl's and wget's user and password: ${CREDENTIALS}`,
  '--http-user': `wget's user: ${CREDENTIALS}`,
  '--http-password': `wget's password: ${CREDENTIALS}`,
  '--password': `wget's password: ${CREDENTIALS}`,
  '-v': `curl's and wget's --verbose: ${VERBOSE}`,
  '--verbose': `curl's and wget's: ${VERBOSE}`,
  '-t': "wget's tries: --retries N (5 by default)",
  '--tries': "wget's tries: --retries N (5 by default)",
  '--max-tries': "aria2c's tries: --retries N (5 by default)",
  // commander offered its nearest name, --netrc.
  '--retry': "curl's retries: --retries N (5 by default)",
  '-w': "wget's wait between requests: --wait SECONDS, to each host; curl's --write-out: --json prints every result",
  '--random-wait': "wget's: --wait 2-4 draws each wait from that range",
  '--limit-rate':
    "curl's and wget's bandwidth limit: imgpull has none; --wait SECONDS spaces a host's requests, and -c N runs fewer transfers",
  '-N': "wget's --timestamping: not needed, a rerun fetches only what is missing",
  '--timestamping': "wget's: not needed, a rerun fetches only what is missing",
  '--no-clobber': "wget's: not needed, a file already in the folder is never replaced",
  '-e': "curl's referer: -H 'Referer: URL'",
  '--referer': "curl's and wget's: -H 'Referer: URL'",
  '--compressed':
    "curl's: not needed, an encoded body (gzip, deflate, br) is decoded; imgpull asks for none, images being compressed already",
}

const SERVERS = 'many machines take shards of a Redis queue: imgpull enqueue, then imgpull worker'
const ANEW = 'not needed, an image is written anew only with --resize or --encode'
const WANDB = "img2dataset's: imgpull writes OUT/report.html, and imgpull status OUT says where a run stands"

/** What an img2dataset option is here, and the imgpull option that does it (`flag`), where one does. */
interface Img2datasetOption {
  words: string
  flag?: string
}

/**
 * img2dataset's options, as its command line (python-fire) takes them: `--image_size=256` or
 * `--image-size 256`. Those whose names are imgpull's with `_` for `-` (`--url_col`, `--retries`)
 * are not here: `otherToolOption` names imgpull's spelling.
 */
const IMG2DATASET: Record<string, Img2datasetOption> = {
  '--output-folder': { words: `img2dataset's folder: ${FOLDER}`, flag: '--out' },
  '--image-size': {
    words:
      "img2dataset's size: --size PX with a --resize mode (img2dataset resizes to 256 with border by default, imgpull not at all)",
    flag: '--size',
  },
  '--resize-mode': {
    words:
      "img2dataset's resize mode: --resize keep-ratio, keep-ratio-largest, center-crop or border, with --size PX",
    flag: '--resize',
  },
  '--upscale-interpolation': {
    words: "img2dataset's: imgpull has no such option; sharp resizes with lanczos3, up and down",
  },
  '--downscale-interpolation': {
    words: "img2dataset's: imgpull has no such option; sharp resizes with lanczos3, up and down",
  },
  '--thread-count': {
    words: "img2dataset's downloads at once in each process: -c N, over all hosts (128 by default)",
    flag: '--concurrency',
  },
  '--processes-count': {
    words:
      "img2dataset's processes: not needed, downloads run on transfer threads (--threads) and resizing on one process a core",
  },
  '--encode-format': {
    words:
      "img2dataset's format: --encode jpg, png, webp or avif (without it, each image is kept as it came)",
    flag: '--encode',
  },
  '--encode-quality': {
    words: "img2dataset's quality: --quality N, with --encode or --resize",
    flag: '--quality',
  },
  '--number-sample-per-shard': {
    words: "img2dataset's shard size: --shard-size N (10000 by default)",
    flag: '--shard-size',
  },
  '--oom-shard-count': {
    words:
      "img2dataset's digits of a shard's name: not needed, shards are named with five (00000.tar), more past 99,999",
  },
  '--save-additional-columns': {
    words: "img2dataset's columns: --columns a,b (every column but the URL's is carried by default)",
    flag: '--columns',
  },
  '--bbox-col': {
    words:
      "img2dataset's boxes to blur: imgpull has no such option and blurs nothing; the column is carried as any other (--columns)",
  },
  '--extract-exif': {
    words:
      "img2dataset's: imgpull has no such option, EXIF is not put in the rows; --keep-metadata keeps it in re-encoded images",
  },
  '--min-image-size': { words: "img2dataset's: --min-size PX", flag: '--min-size' },
  '--max-image-area': { words: "img2dataset's: --max-pixels N", flag: '--max-pixels' },
  '--compute-hash': { words: "img2dataset's: --hash sha256 or none (sha256 by default)", flag: '--hash' },
  '--verify-hash': {
    words: "img2dataset's [column, type]: --hash-col COLUMN --hash-type sha256 or md5",
    flag: '--hash-col',
  },
  '--incremental-mode': {
    words: 'not needed: run the same command again, and it goes on where the last run stopped',
  },
  '--max-shard-retry': {
    words:
      "img2dataset's: not needed, each failure with a passing cause is retried (--retries N), and again by a rerun",
  },
  '--user-agent-token': {
    words: "img2dataset's: -A, --user-agent UA (the whole header)",
    flag: '--user-agent',
  },
  '--disallowed-header-directives': {
    words:
      "img2dataset's: X-Robots-Tag noai and noimageai are refused by default; --ignore-robots-tag takes them",
    flag: '--ignore-robots-tag',
  },
  '--distributor': { words: `img2dataset's pyspark or ray: ${SERVERS}` },
  '--subjob-size': { words: `img2dataset's: ${SERVERS}` },
  '--skip-reencode': { words: `img2dataset's: ${ANEW}` },
  '--disable-all-reencoding': { words: `img2dataset's: ${ANEW}` },
  '--enable-wandb': { words: WANDB },
  '--wandb-project': { words: WANDB },
}

const WHEN_DONE = '--exit-when-done: stop once no shard is left waiting, retrying or running'

/**
 * Other job queues' workers' options to end once the queue is empty, and spellings of
 * --exit-when-done too far from it for commander's "did you mean" (`--exit-when-empty`).
 */
const WORKER: Record<string, string> = {
  '--burst': `rq's and arq's burst mode: ${WHEN_DONE}`,
  '-b': `rq's --burst: ${WHEN_DONE}`,
  '--stop-when-empty': `Laravel's queue:work option: ${WHEN_DONE}`,
  '--exit-when-empty': `imgpull's is ${WHEN_DONE}`,
  '--exit-on-empty': `imgpull's is ${WHEN_DONE}`,
  '--exit-when-idle': `imgpull's is ${WHEN_DONE}`,
}

/** The commands an img2dataset user types its options to: a run, or a queue's two halves. */
export type RunCommand = 'pull' | 'enqueue' | 'worker'

/**
 * Where an imgpull option (its long name) is taken: by the command typed (`here`), or only by the
 * other command of a queue (`enqueue`'s run options, a `worker`'s -o); `undefined`: by neither.
 */
export type OptionPlace = (long: string) => 'here' | 'enqueue' | 'worker' | undefined

/** img2dataset's input, as each command takes a list or a table. */
const URL_LIST: Record<RunCommand, string> = {
  pull: "img2dataset's input: a list or a table is given as it is: imgpull urls.parquet -o DIR",
  enqueue:
    "img2dataset's input: a list or a table is given as it is: imgpull enqueue urls.parquet --queue NAME",
  worker:
    "img2dataset's input: a worker takes its queue's, given to imgpull enqueue urls.parquet --queue NAME",
}

/** Where `flag` is the other queue command's: which one takes it, and why. */
function elsewhere(place: ReturnType<OptionPlace>): string {
  if (place === 'enqueue')
    return ', given to imgpull enqueue: every shard carries the options of its enqueue, and every worker runs them alike'
  if (place === 'worker') return ', given to each imgpull worker'
  return ''
}

/**
 * For an unknown option (`flag` as commander names it, `=value` and all): what it is in another
 * tool and how imgpull does it; `undefined` for one no other tool has. `command` is the command
 * it was given to, and `place` where imgpull's options are (see `OptionPlace`): img2dataset's
 * `--url_col` is imgpull's `--url-col`, said so, and a worker is told that `--resize` is enqueue's.
 */
export function otherToolOption(
  flag: string,
  command: RunCommand = 'pull',
  place: OptionPlace = () => undefined,
): string | undefined {
  const name = flag.split('=')[0]
  // A short one with its number attached (`-j8`), as commander names it, or its credentials (`-ubob:pw`).
  const short = /^-[a-zA-Z]\d+$/.test(name) ? name.slice(0, 2) : secretShort(name)
  // The TLS and proxy ones are the run's, given to enqueue too; the others a run's alone.
  const table = command === 'pull' ? OTHER : command === 'enqueue' ? TLS_PROXY : undefined
  const other = table && (table[name] ?? (short === undefined ? undefined : table[short]))
  if (other !== undefined) return other
  const dashed = name.replaceAll('_', '-')
  const worker = command === 'pull' ? undefined : WORKER[dashed]
  if (worker !== undefined) return `${worker}${command === 'enqueue' ? elsewhere('worker') : ''}`
  if (!name.startsWith('--')) return undefined
  // img2dataset writes imgpull's names with _ (python-fire takes either): the one meant is sure.
  const own = dashed !== name ? place(dashed) : undefined
  if (own !== undefined) return `imgpull's is ${dashed}${elsewhere(own === 'here' ? undefined : own)}`
  if (dashed === '--url-list') return URL_LIST[command]
  if (dashed === '--timeout' && command !== 'pull')
    return `${OTHER['--timeout']}${elsewhere(place('--connect-timeout') === 'enqueue' ? 'enqueue' : undefined)}`
  const entry = IMG2DATASET[dashed]
  if (entry === undefined) return undefined
  const at = entry.flag === undefined ? undefined : place(entry.flag)
  return `${entry.words}${elsewhere(at === 'here' ? undefined : at)}`
}
