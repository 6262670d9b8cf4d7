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
