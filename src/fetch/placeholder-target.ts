/**
 * Whether a redirect leads to an image host's stand-in for a missing image. Pure, table-tested
 * (test/redirect-target.test.ts).
 *
 * Image hosts answer a removed or missing image with a 302 to one small image that says so:
 * imgur's `i.imgur.com/removed.png`, Flickr's `photo_unavailable.png` (and `_l.gif`, `_t.gif`...
 * sizes), shops' `no_image.jpg`. It is a valid image, so without this it was kept as the photo,
 * as peers keep it (4pr0n/ripme#13, mikf/gallery-dl#5308, dusty-nv/jetson-inference#145: a dataset
 * whose mean image became "This photo is no longer available"); JDim takes imgur's as a 404
 * (JDimproved/JDim#1434), and so does imgpull for any of these names. Only a redirect's target is
 * judged, by the last segment of its path: a URL listed with such a name is what was asked for, and
 * a placeholder served under the URL itself (200, no redirect) is an image like any other (see
 * `sameBytes` in `imgpull status`).
 */

/** The names (without extension, `-` and spaces read as `_`, any case) of a stand-in image. */
const PLACEHOLDER_STEM =
  /^(?:removed|deleted|unavailable|not_?found|404|no_?(?:image|img|photo|picture)|(?:removed|deleted|missing)_?(?:image|img|photo|picture)|(?:image|img|photo|picture)_?(?:removed|deleted|unavailable|not_?found|not_?available|missing))(?:_[a-z0-9]{1,3})?$/

/**
 * The names of a hotlink protection's stand-in: Apache's `RewriteRule \.(png|jpe?g)$ /hotlink.png
 * [R=302]` (oupala/apaxy#141), `nohotlink.gif`, `hotlinking-not-allowed.png`, `hotlink_denied.jpg`,
 * `anti-hotlink.png`. The image asked for is there, for a request from the site's own pages.
 */
const HOTLINK_STEM =
  /^(?:no_?|anti_?|stop_?)?hotlink(?:ing)?(?:_?(?:not_?allowed|denied|forbidden|blocked|protection|warning|error))?(?:_[a-z0-9]{1,3})?$/

/** Extensions of the images such stand-ins are: a page with such a name is no image anyway. */
const IMAGE_EXTENSION = /^(?:png|gif|jpe?g|webp|svg|avif)$/

/** The last segment of a path, decoded, in lower case, `-` and spaces as `_`: `[stem, ext]`. */
function nameOf(url: URL): [string, string] {
  const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1)
  let name: string
  try {
    name = decodeURIComponent(last)
  } catch {
    name = last
  }
  name = name.toLowerCase().replace(/[- ]/g, '_')
  const dot = name.lastIndexOf('.')
  return dot <= 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)]
}

/**
 * True when `target`, where a redirect leads, is named as a stand-in for a removed or missing
 * image (`removed.png`, `photo_unavailable_l.gif`, `no-image.jpg`) and `listed`, the URL asked
 * for, is not itself so named.
 */
export function isPlaceholderTarget(target: URL, listed: URL): boolean {
  return placeholderKind(target, listed) !== undefined
}

/**
 * What stand-in a redirect to `target` leads to, for `listed` (see `isPlaceholderTarget`):
 * `removed`, an image host's for a removed or missing image; `hotlink`, a hotlink protection's
 * "no hotlinking" image (`hotlink.png`), sent to a request whose `Referer` is not the site's
 * (imgpull sends none: `-H 'Referer: …'` gives one); `undefined`, neither, or that name asked for.
 */
export function placeholderKind(target: URL, listed: URL): 'removed' | 'hotlink' | undefined {
  const [stem, ext] = nameOf(target)
  if (!IMAGE_EXTENSION.test(ext)) return undefined
  const asked = nameOf(listed)[0]
  if (PLACEHOLDER_STEM.test(stem)) return PLACEHOLDER_STEM.test(asked) ? undefined : 'removed'
  if (HOTLINK_STEM.test(stem)) return HOTLINK_STEM.test(asked) ? undefined : 'hotlink'
  return undefined
}
