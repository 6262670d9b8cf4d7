import { open } from 'node:fs/promises'

/**
 * The first `bytes` bytes of the file at `path` (fewer when it is shorter), to tell what it holds
 * before it is read as text (gzip's magic, a UTF-16 byte order mark). Throws the file system's error.
 */
export async function fileHead(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(bytes), 0, bytes, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
  }
}

/** Whether `head` begins with `bytes` (numbers, or a string read byte for byte as latin1). */
export const starts = (head: Buffer, bytes: number[] | string): boolean =>
  typeof bytes === 'string'
    ? head.subarray(0, bytes.length).toString('latin1') === bytes
    : bytes.every((b, i) => head[i] === b)

/**
 * Whether `head` opens a tar archive: POSIX (ustar, pax) and GNU tar write `ustar` at byte 257 of
 * a member's header (POSIX.1-2017, pax "ustar Interchange Format"). `head` as bytes, or as text
 * read byte for byte (latin1).
 */
export const isTarHead = (head: Buffer | string): boolean =>
  (typeof head === 'string' ? head : head.toString('latin1', 0, 262)).startsWith('ustar', 257)
