import { starts } from '../utils/file-head.js'

/** What to do with a spreadsheet given as input: said for a list and a table alike. */
export const SAVE_AS_CSV =
  'save it as CSV UTF-8 (Excel: File > Save As; Google Sheets: File > Download; LibreOffice: Save As, Text CSV) or TSV, and give imgpull that file, its URL column named by --url-col'

/**
 * A spreadsheet saved in its own format, from its first bytes: a ZIP whose first entry is an
 * Office Open XML part (`[Content_Types].xml` as Excel and Google Sheets write it, `docProps/` as
 * openpyxl does, `_rels/`, `xl/`), a ZIP whose `mimetype` says OpenDocument spreadsheet, or OLE2's
 * compound file (Excel 97–2003's `.xls`). Said as a ZIP archive to unpack, its parts are XML,
 * no list; a spreadsheet saved as CSV is read as a table. `undefined` for anything else.
 */
export function spreadsheet(head: Buffer): string | undefined {
  if (starts(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))
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
 * parts are Word's (`word/`) or whose `mimetype` says OpenDocument text (`.odt`). Rich text, whose
 * first byte is `{`, was said as JSON ("one object a line with a url key is a table"), and its
 * lines, each ending in RTF's `\`, are no URLs; a `.docx` or `.odt` was said as a ZIP to unpack,
 * its parts XML. `undefined` for anything else.
 */
export function textDocument(head: Buffer): string | undefined {
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
