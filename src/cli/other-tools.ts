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
  "put them in the URL before its host, as user:password@ (percent-encoded), or give -H 'Authorization: …'"
const VERBOSE =
  'each failure is printed with its cause, --json prints every result, imgpull status OUT sums a run up; -V is the version'

/** Other tools' options, each with what it is and imgpull's equivalent. */
const OTHER: Record<string, string> = {
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
  '--timeout': `wget's and aria2c's timeout: ${TIMEOUTS}`,
  '--max-time': "curl's time for a whole transfer: --total-timeout SECONDS",
  '-m': "curl's time for a whole transfer: --total-timeout SECONDS",
  '-k': "curl's --insecure: --insecure (unsafe: --ca-cert FILE trusts a private CA)",
  '--no-check-certificate': "wget's: --insecure (unsafe: --ca-cert FILE trusts a private CA)",
  '--load-cookies': "wget's and aria2c's cookies file: --cookies FILE (Netscape cookies.txt)",
  '-b': "curl's cookies: --cookies FILE (Netscape cookies.txt)",
  '-O': "curl's --remote-name: not needed, files are named from their URLs (--name)",
  '--remote-name': "curl's: not needed, files are named from their URLs (--name)",
  '--remote-name-all': "curl's: not needed, files are named from their URLs (--name)",
  '--create-dirs': "curl's: not needed, folders are made as names need them",
  '-L': "curl's --location: not needed, redirects are followed (--max-redirects N)",
  '--location': "curl's: not needed, redirects are followed (--max-redirects N)",
  '--continue': 'not needed: run the same command again, and it goes on where the last run stopped',
  '-s': "curl's --silent: -q prints errors only",
  '--silent': "curl's: -q prints errors only",
  '-U': "wget's user agent: -A, --user-agent UA",
  '-u': `curl's user and password: ${CREDENTIALS}`,
  '--user': `curl's and wget's user and password: ${CREDENTIALS}`,
  '--http-user': `wget's user: ${CREDENTIALS}`,
  '--http-password': `wget's password: ${CREDENTIALS}`,
  '--password': `wget's password: ${CREDENTIALS}`,
  '-v': `curl's and wget's --verbose: ${VERBOSE}`,
  '--verbose': `curl's and wget's: ${VERBOSE}`,
  '-t': "wget's tries: --retries N (5 by default)",
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

/**
 * img2dataset's options, as its command line (python-fire) takes them: `--image_size=256` or
 * `--image-size 256`. Those whose names are imgpull's with `_` for `-` (`--url_col`, `--retries`)
 * are not here: commander's "did you mean --url-col?" says them.
 */
const IMG2DATASET: Record<string, string> = {
  '--url-list': "img2dataset's input: a list or a table is given as it is: imgpull urls.parquet -o DIR",
  '--output-folder': `img2dataset's folder: ${FOLDER}`,
  '--image-size':
    "img2dataset's size: --size PX with a --resize mode (img2dataset resizes to 256 with border by default, imgpull not at all)",
  '--resize-mode':
    "img2dataset's resize mode: --resize keep-ratio, keep-ratio-largest, center-crop or border, with --size PX",
  '--thread-count': "img2dataset's downloads at once in each process: -c N, over all hosts (128 by default)",
  '--processes-count':
    "img2dataset's processes: not needed, downloads run on transfer threads (--threads) and resizing on one process a core",
  '--encode-format':
    "img2dataset's format: --encode jpg, png, webp or avif (without it, each image is kept as it came)",
  '--encode-quality': "img2dataset's quality: --quality N, with --encode or --resize",
  '--number-sample-per-shard': "img2dataset's shard size: --shard-size N (10000 by default)",
  '--save-additional-columns':
    "img2dataset's columns: --columns a,b (every column but the URL's is carried by default)",
  '--min-image-size': "img2dataset's: --min-size PX",
  '--max-image-area': "img2dataset's: --max-pixels N",
  '--compute-hash': "img2dataset's: --hash sha256 or none (sha256 by default)",
  '--verify-hash': "img2dataset's [column, type]: --hash-col COLUMN --hash-type sha256 or md5",
  '--incremental-mode': 'not needed: run the same command again, and it goes on where the last run stopped',
  '--user-agent-token': "img2dataset's: -A, --user-agent UA (the whole header)",
  '--disallowed-header-directives':
    "img2dataset's: X-Robots-Tag noai and noimageai are refused by default; --ignore-robots-tag takes them",
  '--distributor': `img2dataset's pyspark or ray: ${SERVERS}`,
  '--subjob-size': `img2dataset's: ${SERVERS}`,
  '--skip-reencode': `img2dataset's: ${ANEW}`,
  '--disable-all-reencoding': `img2dataset's: ${ANEW}`,
  '--enable-wandb':
    "img2dataset's: imgpull writes OUT/report.html, and imgpull status OUT says where a run stands",
}

/**
 * For an unknown option (`flag` as commander names it, `=value` and all): what it is in another
 * tool and how imgpull does it; `undefined` for one no other tool has.
 */
export function otherToolOption(flag: string): string | undefined {
  const name = flag.split('=')[0]
  // A short one with its number attached (`-j8`), as commander names it.
  return (
    OTHER[name] ??
    (/^-[a-zA-Z]\d+$/.test(name) ? OTHER[name.slice(0, 2)] : undefined) ??
    (name.startsWith('--') ? IMG2DATASET[name.replaceAll('_', '-')] : undefined)
  )
}
