/**
 * What the body of a 2xx answer to a GET is (RFC 9110 §15.3), or `undefined` for a status not 2xx:
 * - `file`: 200; 203, the 200 as a transforming proxy changed it (§15.3.4: recompressed in spite of
 *   `Cache-Control: no-transform`), still the image, kept as curl, wget and browsers keep it, its
 *   status recorded (`httpStatus`); and any 2xx not known here, taken as a 200 (§15: a client
 *   treats a status it does not know as its class's x00).
 * - `part`: 206, judged by its `Content-Range` (see judge.ts).
 * - `none`: no image in it: 202 (accepted, not made yet: §15.3.3), 204 and 205 (no content,
 *   whatever the length says: §15.3.5-6), 207 and 208 (WebDAV's XML statuses of other resources:
 *   RFC 4918 §11.1, RFC 5842 §7.1), 226 (a delta against a copy the client holds, to a request
 *   that asked for one with `A-IM`: RFC 3229 §10.4.1). curl, wget2 and aria2 save those bodies as
 *   the file; an image check would refuse most as 'not an image', and a 226's delta may begin as
 *   an image does: the status is the failure (`http-207`...).
 */
export function successBody(status: number): 'file' | 'part' | 'none' | undefined {
  if (status < 200 || status > 299) return undefined
  if (status === 206) return 'part'
  return NO_IMAGE.has(status) ? 'none' : 'file'
}

const NO_IMAGE: ReadonlySet<number> = new Set([202, 204, 205, 207, 208, 226])
