import { open } from 'node:fs/promises'
import { starts } from '../utils/file-head.js'

/** What to do with a spreadsheet given as input: said for a list and a table alike. */
export const SAVE_AS_CSV =
  'save it as CSV UTF-8 (Excel: File > Save As; Google Sheets: File > Download; LibreOffice: Save As, Text CSV) or TSV, and give imgpull that file, its URL column named by --url-col'

/**
 * A spreadsheet saved in its own format, from its first bytes: a ZIP whose first entry is an
 * Office Open XML part (`[Content_Types].xml` as Excel and Google Sheets write it, `docProps/` as
 * openpyxl does, `_rels/`, `xl/`), a ZIP whose `mimetype` says OpenDocument spreadsheet, or OLE2's
 * compound file (Excel 97–2003's `.xls`; not one whose streams `compoundHead` read name Word's). Said as a ZIP archive to unpack, its parts are XML,
 * no list; a spreadsheet saved as CSV is read as a table. `undefined` for anything else.
 */
export function spreadsheet(head: Buffer): string | undefined {
  if (starts(head, COMPOUND_FILE) && !compoundNames.get(head)?.includes('WordDocument'))
    return 'an Excel workbook in its old format (.xls)'
  if (!starts(head, 'PK\x03\x04') || head.length < 30) return undefined
  // The first local file header: its name's length at byte 26, the extra field's at 28 (APPNOTE 4.3.7).
  const nameEnd = 30 + head.readUInt16LE(26)
  const name = head.subarray(30, nameEnd).toString('latin1')
  // Word's and PowerPoint's files begin alike: one whose first bytes name their parts is left a ZIP.
  const text = head.toString('latin1')
  if (/^(\[Content_Types\]\.xml|docProps\/|_rels\/|xl\/)/.test(name) && !/(word|ppt)\//.test(text))
    return 'an Excel workbook (.xlsx)'
  const data = text.slice(nameEnd + head.readUInt16LE(28))
  if (name === 'mimetype' && data.startsWith('application/vnd.oasis.opendocument.spreadsheet'))
    return 'an OpenDocument spreadsheet (.ods)'
  return undefined
}

/** What to do with a word processor's document given as input. */
export const SAVE_AS_TEXT =
  'save it as plain text, one URL a line (TextEdit: Format > Make Plain Text; Word, WordPad, LibreOffice: Save As, Plain Text), or convert it: textutil -convert txt FILE (macOS), libreoffice --convert-to txt FILE'

/**
 * A word processor's document, from its first bytes: rich text (RTF, TextEdit's default format
 * on macOS, which a list typed there and named `urls.txt` is saved in, and WordPad's), a ZIP whose
 * parts are Word's (`word/`) or whose `mimetype` says OpenDocument text (`.odt`), Word 97–2003's
 * `.doc` (an OLE2 compound file whose streams, read by `compoundHead`, name `WordDocument`). Rich text, whose
 * first byte is `{`, was said as JSON ("one object a line with a url key is a table"), and its
 * lines, each ending in RTF's `\`, are no URLs; a `.docx` or `.odt` was said as a ZIP to unpack,
 * its parts XML. `undefined` for anything else.
 */
export function textDocument(head: Buffer): string | undefined {
  if (compoundNames.get(head)?.includes('WordDocument')) return 'a Word document in its old format (.doc)'
  const text = head.toString('latin1').replace(/^\xef\xbb\xbf/, '')
  if (/^\s*\{\\rtf/.test(text)) return 'a rich text document (RTF, as TextEdit and WordPad save one)'
  if (!starts(head, 'PK\x03\x04') || head.length < 30) return undefined
  const nameEnd = 30 + head.readUInt16LE(26)
  const name = head.subarray(30, nameEnd).toString('latin1')
  if (/^(\[Content_Types\]\.xml|docProps\/|_rels\/|word\/)/.test(name) && /word\//.test(text))
    return 'a Word document (.docx)'
  const data = text.slice(nameEnd + head.readUInt16LE(28))
  if (name === 'mimetype' && data.startsWith('application/vnd.oasis.opendocument.text'))
    return 'an OpenDocument text (.odt)'
  return undefined
}

/** OLE2's signature (MS-CFB §2.2): Word's `.doc`, Excel's `.xls` and PowerPoint's `.ppt` alike. */
const COMPOUND_FILE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]
/** The names in a compound file's directory, by the head `compoundHead` read them for. */
const compoundNames = new WeakMap<Buffer, string[]>()
/** Most directory sectors read (a directory of 4 entries a 512-byte sector: 256 entries). */
const MOST_DIRECTORY_SECTORS = 64

/**
 * `head` (the first bytes of the file at `path`), its compound file's directory read when it is
 * one (OLE2: Word's `.doc`, Excel's `.xls`, PowerPoint's `.ppt` begin alike), so `spreadsheet`
 * and `textDocument` tell a `.doc` (a `WordDocument` stream) from an `.xls` (`Workbook`, `Book`):
 * a `.doc` given as a list was said to be an Excel workbook, to be saved as CSV. The directory's
 * chain of sectors is followed through the FAT sectors the header lists (MS-CFB §2.2, §2.3, §2.6;
 * the first 109, 7 MB of 512-byte sectors), up to `MOST_DIRECTORY_SECTORS`. Never throws: a file
 * that cannot be read so is left an `.xls`, as before.
 */
export async function compoundHead(path: string, head: Buffer): Promise<Buffer> {
  if (!starts(head, COMPOUND_FILE) || head.length < 512) return head
  const file = await open(path, 'r').catch(() => undefined)
  if (!file) return head
  try {
    const shift = head.readUInt16LE(0x1e)
    if (shift !== 9 && shift !== 12) return head
    const size = 1 << shift
    const sector = async (n: number) => {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(size), 0, size, (n + 1) * size)
      return bytesRead === size ? buffer : undefined
    }
    const fats = new Map<number, Buffer | undefined>()
    const names: string[] = []
    let at = head.readUInt32LE(0x30)
    for (let read = 0; at < 0xfffffffa && read < MOST_DIRECTORY_SECTORS; read++) {
      const directory = await sector(at)
      if (!directory) break
      for (let entry = 0; entry < size; entry += 128) {
        const length = directory.readUInt16LE(entry + 0x40)
        if (length >= 2 && length <= 64) names.push(directory.toString('utf16le', entry, entry + length - 2))
      }
      // The next sector of the chain: its entry in the FAT sector the header lists for it.
      const perFat = size / 4
      const index = Math.floor(at / perFat)
      if (index >= 109) break
      if (!fats.has(index)) fats.set(index, await sector(head.readUInt32LE(0x4c + 4 * index)))
      at = fats.get(index)?.readUInt32LE((at % perFat) * 4) ?? 0xfffffffe
    }
    compoundNames.set(head, names)
  } catch {
    // Left an .xls, as before.
  } finally {
    await file.close()
  }
  return head
}
