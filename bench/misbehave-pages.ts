/**
 * Side by side on a web page where an image should be: a link a user copied from a browser's
 * address bar (a Dropbox `?dl=0` share page, a Google Drive `/file/d/ID/view` page, a GitHub
 * `/blob/` page, a Wikimedia Commons `File:` page, an Imgur, Flickr, Unsplash, Pinterest or
 * Instagram photo page, an X photo page, a OneDrive share page, a WordPress attachment page) and
 * its siblings (a page sent as `image/jpeg`, XHTML, a login wall after a redirect, a JSON answer,
 * a gzip-encoded page, a UTF-16 page, og:image relative, protocol-relative or entity-escaped, a
 * page naming itself). Each page is served from 127.0.0.1 in the shape of the real one (its head's
 * marks, its size class), short but faithful: host rules (keyed on real host names) cannot see
 * these, so what imgpull says comes of the page alone. Each tool fetches a list of the one URL
 * (curl with `-O`). Prints per case and tool what was kept: the image, the page (WRONG), or
 * nothing; for imgpull, its message and whether it fetched what the page names (it must not).
 *
 *   npm run build && node --import tsx bench/misbehave-pages.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { benchArgs, noise, printTable, spawnCapped } from './misbehave.js'
import { IMGPULL } from './tools.js'

interface PageCase {
  id: string
  /** The report this page is modelled on. */
  report: string
  /** The path the list holds. */
  path: string
  /** The answer to the path (`o`: the server's origin); other paths under `/img/` get the image. */
  answer(o: string, req: IncomingMessage, res: ServerResponse): void
}

const H = 'text/html; charset=utf-8'
const page = (type: string, body: string | Buffer, fields: Record<string, string> = {}) =>
  ((_o: string, _req: IncomingMessage, res: ServerResponse) =>
    void res.writeHead(200, { 'Content-Type': type, ...fields }).end(body)) as PageCase['answer']
/** A page built from the origin (its marks name absolute URLs on it). */
const pageOf =
  (type: string, body: (o: string) => string): PageCase['answer'] =>
  (o, _req, res) =>
    void res.writeHead(200, { 'Content-Type': type }).end(body(o))
const doc = (title: string, head: string, body = '') =>
  `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title><meta name="viewport" content="width=device-width, initial-scale=1">${head}</head><body>${body}<script>window.__APP__={}</script></body></html>`

function cases(): PageCase[] {
  return [
    {
      id: 'dropbox-dl0',
      report:
        'fatiando/pooch#362, overte-org/overte#636, rockdaboot/wget2#337 (a Dropbox `dl=0` link saves the HTML page; `dl=1` is the file, help.dropbox.com/share/force-download)',
      path: '/scl/fi/uryzfd2i7r/sofa.jpg?rlkey=guhp9wxm&st=11px7sc4&dl=0',
      answer: pageOf(H, (o) =>
        doc(
          'Dropbox - sofa.jpg - Simplify your life',
          `<meta property="og:site_name" content="Dropbox"><meta property="og:title" content="sofa.jpg"><meta property="og:image" content="${o}/img/temp_thumb_from_token/s/uryzfd2i7r?preserve_transparency=False&amp;size=1200x1200&amp;size_mode=4"><meta name="twitter:card" content="summary_large_image">`,
          '<div id="embedded-app"></div>',
        ),
      ),
    },
    {
      id: 'gdrive-view',
      report:
        'matthuisman/gdrivedl#6, chentinghao/download_google_drive#8 (a Drive `/file/d/ID/view` page saved as the file)',
      path: '/file/d/1XBDpcGtRZ/view?usp=sharing',
      answer: pageOf(H, (o) =>
        doc(
          'sofa.jpg - Google Drive',
          `<meta property="og:title" content="sofa.jpg"><meta property="og:image" content="${o}/img/drive-storage/AJQWtBO=w1200-h630-p"><meta property="og:type" content="article">`,
          '<div class="ndfHFb-c4YZDc"></div>',
        ),
      ),
    },
    {
      id: 'github-blob',
      report:
        "pulsar-edit/package-frontend#101, open-audio-stack/open-audio-stack-registry#728 (a `/blob/` URL gives GitHub's HTML page; `/raw/` is the file): the page's og:image is a card of the repository",
      path: '/octo/pics/blob/main/img/sofa.jpg',
      answer: pageOf(H, (o) =>
        doc(
          'pics/img/sofa.jpg at main · octo/pics · GitHub',
          `<meta name="twitter:image" content="${o}/img/opengraph/card/octo/pics"><meta property="og:image" content="${o}/img/opengraph/card/octo/pics"><meta property="og:image:alt" content="Contribute to octo/pics development">`,
          '<react-app app-name="react-code-view"><script type="application/json" data-target="react-app.embeddedData">{"payload":{"blob":{"rawBlobUrl":"/octo/pics/raw/main/img/sofa.jpg"}}}</script></react-app>',
        ),
      ),
    },
    {
      id: 'commons-file',
      report:
        'zotero/translators#3136, Slion/Fulguris#114 (a Commons `File:` page or a media viewer link downloads as HTML)',
      path: '/wiki/File:Sofa_(Wien).jpg',
      answer: pageOf(H, (o) =>
        doc(
          'File:Sofa (Wien).jpg - Wikimedia Commons',
          `<meta property="og:image" content="${o}/img/wikipedia/commons/thumb/a/ab/Sofa_%28Wien%29.jpg/1200px-Sofa_%28Wien%29.jpg"><meta property="og:image:width" content="1200">`,
          `<div class="fullImageLink" id="file"><a href="//127.0.0.1/img/wikipedia/commons/a/ab/Sofa_%28Wien%29.jpg"><img alt="File:Sofa (Wien).jpg" src="${o}/img/wikipedia/commons/thumb/a/ab/Sofa_%28Wien%29.jpg/800px-Sofa_%28Wien%29.jpg" width="800" height="600"></a></div><img src="/static/images/footer/wikimedia-button.svg" width="84" height="29" alt="Wikimedia Foundation">`,
        ),
      ),
    },
    {
      id: 'imgur-page',
      report:
        'mikf/gallery-dl#5593, mikf/gallery-dl#880 (Imgur post pages; `i.imgur.com/ID.jpeg` is the file)',
      path: '/qSB8NbN',
      answer: pageOf(H, (o) =>
        doc(
          'Sofa - Imgur',
          `<meta property="og:url" content="${o}/qSB8NbN"><meta property="og:image" content="${o}/img/qSB8NbN.jpeg?fb"><meta property="og:image:width" content="600"><meta name="twitter:image" content="${o}/img/qSB8NbN.jpeg?fbplay">`,
          '<div id="root"></div>',
        ),
      ),
    },
    {
      id: 'flickr-photo',
      report:
        "a Flickr photo page: the image's address (live.staticflickr.com) only the page holds; gallery-dl resolves it through Flickr's API",
      path: '/photos/someone/53712345678/',
      answer: pageOf(H, (o) =>
        doc(
          'Sofa | Flickr',
          `<meta property="og:site_name" content="Flickr"><meta property="og:image" content="${o}/img/65535/53712345678_2b1f0c9e5d_b.jpg"><meta property="og:image:width" content="1024"><link rel="image_src" href="${o}/img/65535/53712345678_2b1f0c9e5d_b.jpg">`,
          '<div class="photo-well-media-scrappy-view"><img class="main-photo" src="//127.0.0.1/img/65535/53712345678_2b1f0c9e5d_b.jpg"></div>',
        ),
      ),
    },
    {
      id: 'unsplash-photo',
      report:
        "an Unsplash photo page (`unsplash.com/photos/ID`): its og:image is a 1200-wide crop (`crop=`, `&amp;` escaped); the file comes through Unsplash's API",
      path: '/photos/a-grey-sofa-Dwu85P9SOIk',
      answer: pageOf(H, (o) =>
        doc(
          'A grey sofa photo – Free Furniture Image on Unsplash',
          `<meta property="og:image" content="${o}/img/photo-1555041469-a586c61ea9bc?crop=entropy&amp;cs=tinysrgb&amp;fit=max&amp;fm=jpg&amp;ixid=M3wxMjA3&amp;ixlib=rb-4.0.3&amp;q=80&amp;w=1200"><meta name="twitter:image" content="${o}/img/photo-1555041469-a586c61ea9bc?w=1200">`,
        ),
      ),
    },
    {
      id: 'pinterest-pin',
      report: 'a Pinterest pin page: the image on i.pinimg.com, named by og:image',
      path: '/pin/123456789012345678/',
      answer: pageOf(H, (o) =>
        doc(
          'Grey sofa | Pinterest',
          `<meta property="og:image" content="${o}/img/736x/ab/cd/ef/abcdef0123.jpg"><meta name="og:type" content="pinterestapp:pin">`,
          '<div id="__PWS_ROOT__"></div>',
        ),
      ),
    },
    {
      id: 'instagram-post',
      report:
        'an Instagram post page: its og:image a signed scontent address, `&amp;`-escaped (the post itself often behind a login wall)',
      path: '/p/C1a2B3c4D5e/',
      answer: pageOf(H, (o) =>
        doc(
          'Instagram',
          `<meta property="og:image" content="${o}/img/v/t51.29350-15/412345_n.jpg?stp=dst-jpg_e35&amp;_nc_ht=scontent&amp;oh=00_AfB&amp;oe=65A1B2C3"><meta property="og:type" content="article">`,
        ),
      ),
    },
    {
      id: 'x-photo',
      report:
        'an X (Twitter) photo page (`/status/ID/photo/1`): a script-only shell to a client that is not a link previewer, no mark naming the image (the file is pbs.twimg.com `?name=large`)',
      path: '/someone/status/1790000000000000000/photo/1',
      answer: page(
        H,
        doc(
          'X',
          '<meta name="theme-color" content="#000000">',
          '<noscript>JavaScript is not available.</noscript><div id="react-root"></div>',
        ),
      ),
    },
    {
      id: 'onedrive-share',
      report:
        'a OneDrive share link (`1drv.ms/i/s!…` to onedrive.live.com): a script-built page naming no image',
      path: '/redir?resid=ABC123!105&authkey=!AFk',
      answer: page(H, doc('OneDrive', '<link rel="icon" href="/favicon.ico">', '<div id="appRoot"></div>')),
    },
    {
      id: 'wp-attachment',
      report:
        "a WordPress attachment page (`/?attachment_id=123`): no og:image without an SEO plugin, the image the page's one large <img>",
      path: '/?attachment_id=123',
      answer: pageOf(H, (o) =>
        doc(
          'sofa &#8211; My Blog',
          '<link rel="stylesheet" href="/wp-includes/css/dist/block-library/style.min.css">',
          `<img src="/wp-content/themes/twentytwenty/logo.png" width="48" height="48" alt=""><p class="attachment"><a href="${o}/img/wp-content/uploads/2024/05/sofa.jpg"><img width="1024" height="683" src="${o}/img/wp-content/uploads/2024/05/sofa-1024x683.jpg" class="attachment-full size-full" alt="" srcset="${o}/img/wp-content/uploads/2024/05/sofa-1024x683.jpg 1024w"></a></p>`,
        ),
      ),
    },
    {
      id: 'jsonld-contenturl',
      report:
        "a photo page naming the file by schema.org's ImageObject `contentUrl` (JSON-LD) beside a preview og:image",
      path: '/photo/4711',
      answer: pageOf(H, (o) =>
        doc(
          'Sofa',
          `<meta property="og:image" content="${o}/img/preview/4711-1200x630.jpg"><script type="application/ld+json">{"@context":"https://schema.org","@type":"ImageObject","contentUrl":"${o.replace(/\//g, '\\/')}\\/img\\/full\\/4711.jpg","license":"https://creativecommons.org/licenses/by/4.0/"}</script>`,
        ),
      ),
    },
    // Siblings.
    {
      id: 'html-as-jpeg',
      report: 'a page sent with 200 and `Content-Type: image/jpeg` (a CMS that labels by the path)',
      path: '/media/sofa.jpg',
      answer: pageOf('image/jpeg', (o) =>
        doc('Sofa', `<meta property="og:image" content="${o}/img/sofa.jpg">`),
      ),
    },
    {
      id: 'xhtml',
      report: 'an XHTML page (`application/xhtml+xml`, an XML declaration and a doctype before `<html>`)',
      path: '/photo.xhtml',
      answer: page(
        'application/xhtml+xml',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Photo</title><meta property="og:image" content="/img/x.jpg"/></head><body/></html>',
      ),
    },
    {
      id: 'login-wall',
      report:
        'Skyvern-AI/skyvern#7411, cemsaz/city-scapes-script#2 (a 302 to /login, then its page with 200, saved as the file)',
      path: '/private/sofa.jpg',
      answer: (_o, _req, res) =>
        void res.writeHead(302, { Location: '/login?next=%2Fprivate%2Fsofa.jpg' }).end(),
    },
    {
      id: 'json-api',
      report: 'a JSON API answer where the image should be (an API link in place of its file)',
      path: '/api/photos/4711',
      answer: pageOf(
        'application/json',
        (o) => `{"id":"4711","urls":{"full":"${o}/img/full/4711.jpg","thumb":"${o}/img/thumb/4711.jpg"}}`,
      ),
    },
    {
      id: 'gzip-page',
      report: 'a page gzip-encoded (`Content-Encoding: gzip`), as most are sent',
      path: '/gz/photo',
      answer: (o, _req, res) =>
        void res
          .writeHead(200, { 'Content-Type': H, 'Content-Encoding': 'gzip' })
          .end(gzipSync(doc('Sofa', `<meta property="og:image" content="${o}/img/gz.jpg">`))),
    },
    {
      id: 'utf16-page',
      report: 'a page in UTF-16 with a byte order mark (what Windows tools save as "Unicode")',
      path: '/u16/photo.htm',
      answer: page(
        'text/html; charset=utf-16',
        Buffer.concat([
          Buffer.from([0xff, 0xfe]),
          Buffer.from(doc('Sofa', '<meta property="og:image" content="/img/u16.jpg">'), 'utf16le'),
        ]),
      ),
    },
    {
      id: 'og-relative',
      report: 'og:image relative to the page (Open Graph wants it absolute; many pages do not)',
      path: '/rel/photo',
      answer: page(H, doc('Sofa', '<meta property="og:image" content="../img/rel.jpg">')),
    },
    {
      id: 'og-protocol-relative',
      report: 'og:image protocol-relative (`//host/path`)',
      path: '/proto/photo',
      answer: (_o, req, res) =>
        void res
          .writeHead(200, { 'Content-Type': H })
          .end(doc('Sofa', `<meta property="og:image" content="//${req.headers.host}/img/proto.jpg">`)),
    },
    {
      id: 'og-entities',
      report: "og:image entity-escaped (`&amp;`, `&#38;`, `&#x2F;`) as an attribute's value is written",
      path: '/ent/photo',
      answer: pageOf(H, (o) =>
        doc(
          'Sofa',
          `<meta property="og:image" content="${o}/img&#x2F;ent.jpg?w=1200&amp;h=800&#38;fit=crop">`,
        ),
      ),
    },
    {
      id: 'og-after-64k',
      report:
        "a page whose og:image comes after 300 KB of inline script (a bundler's state in the head): past the 64 KB imgpull keeps to tell what came",
      path: '/late/photo',
      answer: pageOf(H, (o) =>
        doc(
          'Sofa',
          `<script>window.__STATE__="${'x'.repeat(300_000)}"</script><meta property="og:image" content="${o}/img/late.jpg">`,
        ),
      ),
    },
    {
      id: 'og-self',
      report: 'a page naming itself as its og:image (no loop, no advice to fetch it again)',
      path: '/self/photo',
      answer: pageOf(H, (o) => doc('Sofa', `<meta property="og:image" content="${o}/self/photo">`)),
    },
  ]
}

interface PageTool {
  id: string
  args(list: string, out: string, url: string): string[]
}

/** Each at its defaults, as a user runs it on a list. */
const TOOLS: PageTool[] = [
  { id: 'imgpull', args: (list, out) => [process.execPath, IMGPULL, list, '-o', out, '--no-report'] },
  { id: 'curl', args: (_list, out, url) => ['curl', '-sS', '-L', '-O', '--output-dir', out, url] },
  { id: 'wget2', args: (list, out) => ['wget2', '--no-config', '-q', '-P', out, '-i', list] },
  { id: 'aria2c', args: (list, out) => ['aria2c', '-q', '-d', out, '-i', list] },
]

/** What a kept file is: the image, the page, or another answer. */
function kind(b: Buffer): string {
  if (b[0] === 0xff && b[1] === 0xd8) return 'image'
  return b[0] === 0x7b ? 'JSON = WRONG' : 'HTML = WRONG'
}

async function runOne(tool: PageTool, c: PageCase, jpeg: Buffer) {
  const root = await mkdtemp(join(tmpdir(), `pages-${tool.id}-`))
  const out = join(root, 'out')
  await mkdir(out)
  const named: string[] = []
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    const o = `http://${req.headers.host}`
    if (path.startsWith('/img/') || path.startsWith('/img&')) {
      named.push(path)
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(jpeg.length) }).end(jpeg)
    } else if (path.startsWith('/login'))
      res
        .writeHead(200, { 'Content-Type': H })
        .end(
          doc(
            'Sign in',
            '<meta property="og:image" content="/static/logo-card.png">',
            '<form method="post" action="/login"><input name="user"><input type="password" name="pass"></form>',
          ),
        )
    else c.answer(o, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const url = origin + c.path
  await writeFile(join(root, 'list.txt'), `${url}\n`)
  // Run from the scratch folder, the list and the output folder named as a user names them.
  const [cmd, ...args] = tool.args('list.txt', 'out', url)
  const { code, stderr } = await spawnCapped(cmd!, args, 60_000, root)
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  const kept: string[] = []
  for (const e of await readdir(out, { recursive: true, withFileTypes: true })) {
    const rel = relative(out, join(e.parentPath, e.name))
    if (!e.isFile() || /^\.imgpull|^manifest\.jsonl$|\.aria2$/.test(rel)) continue
    kept.push(kind(await readFile(join(e.parentPath, e.name))))
  }
  await rm(root, { recursive: true, force: true })
  const line = stderr.split('\n').find((l) => l.startsWith('failed ')) ?? ''
  const message = line.replaceAll(origin, '').replace(/^failed [\w-]+: /, '')
  return { kept, code, message, named, stderr }
}

async function main() {
  const { only, toolIds } = benchArgs()
  const jpeg = await noise(32, 24).jpeg({ quality: 80 }).toBuffer()
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const tools = TOOLS.filter((t) => !toolIds || toolIds.includes(t.id))
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} | imgpull's message (the server's origin left out) |`,
    `|---|${tools.map(() => '---').join('|')}|---|`,
  ]
  for (const c of chosen) {
    const cells: string[] = []
    let said = ''
    for (const t of tools) {
      const r = await runOne(t, c, jpeg)
      const kept = r.kept.length ? [...new Set(r.kept)].join(', ') : 'nothing'
      cells.push(
        `${kept}${r.named.length ? `, **fetched ${r.named.length} named**` : ''}${r.code ? `, exit ${r.code}` : ''}`,
      )
      if (t.id === 'imgpull') said = `\`${r.message.replaceAll('|', '\\|').replaceAll('`', "'")}\``
      console.error(
        `${c.id} ${t.id}: kept [${r.kept.join(', ')}] named fetched ${r.named.length} exit ${r.code} ${r.message || r.stderr.trim().split('\n')[0]?.slice(0, 200)}`,
      )
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} | ${said} |`)
  }
  printTable(rows, chosen)
}

await main()
