import { crc32 } from 'node:zlib'

/**
 * A PNG chunk (PNG spec §5.3): its 4-byte length, `type`, `data` (a string is taken as latin1)
 * and the CRC-32 of type and data, big-endian.
 */
export function pngChunk(type: string, data: Buffer | string): Buffer {
  const bytes = Buffer.concat([
    Buffer.from(type, 'latin1'),
    typeof data === 'string' ? Buffer.from(data, 'latin1') : data,
  ])
  const out = Buffer.alloc(bytes.length + 8)
  out.writeUInt32BE(bytes.length - 4, 0)
  bytes.copy(out, 4)
  out.writeUInt32BE(crc32(bytes), bytes.length + 4)
  return out
}
