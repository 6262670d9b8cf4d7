import { photoId } from '../sources/unsplash/endpoints.js'

/** Google Drive's download link answered with its page: the link its "Download anyway" gives. */
const googleDriveConfirm = (id: string): string =>
  `a Google Drive virus-scan warning page (its download link for a file too large to scan), not the file: https://drive.usercontent.google.com/download?id=${id}&export=download&confirm=t gives the file, as its "Download anyway" does`

/**
 * The link form that gives the file, for a URL whose answer was an HTML page where an image should
 * be and whose address is a sharing site's page for one (a link copied from a browser's address
 * bar or a chat): `not an image: … an HTML page titled "Dropbox - sofa.jpg"` said what came, not
 * how to get the photo. Said in words, nothing fetched; these rules come before what the page
 * itself names (`pageImage`), which on these sites is a preview or nothing. `undefined` for any
 * other address.
 *
 * The forms are each site's documented ones: Dropbox's `dl=1`
 * (help.dropbox.com/share/force-download), Google Drive's `uc?export=download&id=`, Wikimedia's
 * `Special:FilePath` (mediawiki.org/wiki/Help:Special_pages), also for the media viewer's
 * `#/media/File:X.jpg` (the hint reads the fragment: pass the URL as given, not as requested), an Imgur image's `i.imgur.com/ID.ext`,
 * a GitHub file page's `/raw/` (the link of its Raw button);
 * Pinterest and Flickr pages name their image by an address the page alone holds, and an
 * Unsplash photo is fetched through its API (`imgpull unsplash photo`).
 */
export function sharePageHint(url: URL): string | undefined {
  const host = url.hostname.toLowerCase().replace(/^(?:www|m)\./, '')
  const path = url.pathname
  if (host === 'dropbox.com') {
    if (/^\/(?:sh|scl\/fo)\//.test(path))
      return "a Dropbox shared folder's page, not a file: each image's own share link, with dl=1, gives it"
    if (/^\/(?:s|scl\/fi)\//.test(path))
      return `a Dropbox share page, not the file: the same link with dl=1${url.searchParams.get('dl') === '0' ? ' in place of dl=0' : ''} gives the file`
  }
  if (host === 'drive.google.com') {
    const id =
      /^\/file\/d\/([\w-]+)/.exec(path)?.[1] ?? (path === '/open' ? url.searchParams.get('id') : null)
    if (id && /^[\w-]+$/.test(id))
      return `a Google Drive page, not the file: https://drive.google.com/uc?export=download&id=${id} gives the file (when shared with anyone with the link)`
    // The download link itself answered with a page: for a file too large for Google to scan
    // for viruses, its "Virus scan warning" (fsantini/KoboCloud#160, chaiNNer-org/spandrel#140),
    // whose "Download anyway" form asks with `confirm=t`.
    const asked = url.searchParams.get('id')
    if (path === '/uc' && asked && /^[\w-]+$/.test(asked) && url.searchParams.get('confirm') === null)
      return googleDriveConfirm(asked)
  }
  if (host === 'drive.usercontent.google.com' && url.pathname === '/download') {
    const asked = url.searchParams.get('id')
    if (asked && /^[\w-]+$/.test(asked) && url.searchParams.get('confirm') === null)
      return googleDriveConfirm(asked)
  }
  // A file's page in a repository: its Raw button links to `/raw/` (its og:image is a card of the
  // repository GitHub draws, not the file, so the page's own marks would mislead).
  if (host === 'github.com') {
    const blob = /^(\/[^/]+\/[^/]+)\/blob\/(.+)$/.exec(path)
    if (blob)
      return `a GitHub file page, not the file: https://github.com${blob[1]}/raw/${blob[2]} gives the file, as its Raw button does`
  }
  if (host === 'imgur.com') {
    if (/^\/(?:a|gallery|t)\//.test(path))
      return "an Imgur album page, not a file: each image's own address (on i.imgur.com) gives it"
    // An image's id: 5 or 7 letters and digits, never all lower case as the site's own pages are (`/upload`).
    const id = /^\/(?=[a-z]*[A-Z0-9])([a-zA-Z0-9]{5,8})\/?$/.exec(path)?.[1]
    if (id) return `an Imgur page, not the file: https://i.imgur.com/${id}.jpg gives the file`
  }
  if (
    /^(?:[a-z]{2}\.)?pinterest\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$/.test(host) &&
    path.startsWith('/pin/')
  )
    return "a Pinterest pin page, not the file: the image's own address (on i.pinimg.com, as Copy image address gives it) gives the file"
  if (host === 'flickr.com' && path.startsWith('/photos/'))
    return "a Flickr photo page, not the file: the image's own address (on live.staticflickr.com, from the page's download menu) gives the file"
  if (host === 'unsplash.com') {
    const id = unsplashPhoto(url)
    if (id)
      return `an Unsplash photo page, not the file: imgpull unsplash photo ${id} gets it through the Unsplash API`
  }
  if (/(?:^|\.)(?:wikimedia|wikipedia)\.org$/.test(host)) {
    const name = /^\/wiki\/(?:File|Image):(.+)$/.exec(path)?.[1]
    if (name)
      return `a Wikimedia file page, not the file: https://${url.hostname}/wiki/Special:FilePath/${name} gives the file`
    // The media viewer's link (`/wiki/Article#/media/File:X.jpg`): the article's page, the file
    // named in the fragment alone, never sent. Its namespace in the wiki's language (`Datei:`).
    const shown = /^#\/media\/[^/:]+:([^/]+)$/.exec(url.hash)?.[1]
    if (shown)
      return `a media viewer link to a wiki page, not the file: https://${url.hostname}/wiki/Special:FilePath/${shown} gives the file`
  }
  return undefined
}

/**
 * How a failure's message says the hint: `; ` and the kind of page, then `, not the file: ` (or
 * `not a file:`) and what gives it. Every hint above reads so (table-tested).
 */
const HINT_SAID = /; an? [^;]*?, not (?:the|a) file: /

/**
 * Whether a failure, by its code and its message (as the result and the journal keep it), is a
 * sharing site's page in place of the image, its message naming the link that gives the file: a
 * rerun with `--retry-failed` fetches the same page again, and only another link in the list or
 * table helps. Read from the message, not the URL: the hint may come of the page a redirect led to
 * or of the URL's fragment, which the journal's URL does not keep.
 */
export function isSharePageFailure(error: string | undefined, message: string | undefined): boolean {
  return error === 'not-an-image' && message !== undefined && HINT_SAID.test(message)
}

/** The photo id of an unsplash.com photo page's address, in any of the site's languages. */
function unsplashPhoto(url: URL): string | undefined {
  try {
    const id = photoId(url.href)
    return /^[\w-]{10,12}$/.test(id) ? id : undefined
  } catch {
    return undefined
  }
}
