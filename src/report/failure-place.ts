import { printable } from '../utils/printable.js'

/**
 * A failure's message with where its input holds the job (`Job.where`, the journal's `place`):
 * `HTTP 404 from https://…/b.jpg ('urls.txt' line 3)`, the line to mend in a list of thousands,
 * where the URL alone sent the user to a search. The message as it is when there is no place, or
 * when it names the place already (an invalid URL's, `'urls.txt' line 3`, a table row's,
 * `photos.csv line 12: …`, a page's in place of an image, `its link is …`), as it may with the
 * place's control characters shown as escapes. Text as given: the caller makes it `printable`.
 */
export function placedMessage(message: string, place: string | undefined): string {
  if (!place || message.includes(place) || message.includes(printable(place))) return message
  return message ? `${message} (${place})` : place
}
