/**
 * The form under which two file names are one file on the disks photos go to: macOS's APFS and
 * HFS+ (case-insensitive, and `é` composed or decomposed is one name), exFAT and FAT memory cards,
 * NTFS (case-insensitive by an upper-case table). Names with one fold never both take a job:
 * on such a disk the second would be the first's file (on exFAT, without hard links, it replaced
 * it), and a folder made on Linux would lose one when copied there.
 *
 * Upper then lower case, so that letters with one upper form fold together (`ſ` and `s`, the
 * Kelvin sign and `k`); a few names fold together that a disk tells apart (`ß` and `ss`): they
 * take a suffix they did not need, never a file.
 */
export function nameFold(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase()
}
