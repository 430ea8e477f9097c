/**
 * A minimal streaming ZIP writer for the sandbox's bill files. Hand-written (rather than a zip package) because
 * Alipay's bill archives name their entries in GBK without the UTF-8 flag (general purpose bit 11), which the
 * common Node zip writers cannot produce (they always write UTF-8 names), and a faithful sandbox must make clients
 * decode those names themselves.
 *
 * Entries are deflated as they are produced and written with data descriptors (bit 3): neither the sizes nor the
 * CRC need to be known up front, so a bill of any size goes out without ever being held in memory. No ZIP64: an
 * entry or archive beyond 4 GiB is refused.
 */
import { once } from 'node:events';
import zlib from 'node:zlib';

/** Where the archive's bytes go; resolves when the bytes were accepted (honouring backpressure). */
export interface ZipSink {
  write(chunk: Buffer): Promise<void>;
}

const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8_NAME = 0x0800;
const METHOD_DEFLATE = 8;
const VERSION = 20; // 2.0: deflate, data descriptors
const MAX_32 = 0xffffffff;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ZIP's), continuing from `crc`. Node ≥ 20.15 has zlib.crc32; the table is the fallback for older 20.x. */
export function crc32(data: Buffer, crc = 0): number {
  const native = (zlib as { crc32?: (d: Buffer, v?: number) => number }).crc32;
  if (typeof native === 'function') return native(data, crc);
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** MS-DOS date and time fields of a wall-clock `yyyy-MM-dd HH:mm:ss` (ZIP stores local time, no zone). */
function dosDateTime(wallClock: string): { date: number; time: number } {
  const [y, mo, d, h, mi, s] = wallClock.split(/[- :]/).map(Number);
  return { date: ((y - 1980) << 9) | (mo << 5) | d, time: (h << 11) | (mi << 5) | Math.floor(s / 2) };
}

export class StreamingZipWriter {
  private offset = 0;
  private readonly central: Buffer[] = [];
  private readonly stamp: { date: number; time: number };

  /** `modified`: the entries' modification time as Alipay's wall clock (Asia/Shanghai), `yyyy-MM-dd HH:mm:ss`. */
  constructor(
    private readonly sink: ZipSink,
    modified: string,
  ) {
    this.stamp = dosDateTime(modified);
  }

  private async put(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    if (this.offset > MAX_32) throw new Error('zip archive larger than 4 GiB (no ZIP64)');
    await this.sink.write(chunk);
  }

  /** Adds one deflated entry whose uncompressed bytes come from `content`. `name` is the raw name bytes. */
  async addEntry(name: Buffer, nameIsUtf8: boolean, content: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    const flags = FLAG_DATA_DESCRIPTOR | (nameIsUtf8 ? FLAG_UTF8_NAME : 0);
    const headerOffset = this.offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(METHOD_DEFLATE, 8);
    local.writeUInt16LE(this.stamp.time, 10);
    local.writeUInt16LE(this.stamp.date, 12);
    // crc, compressed and uncompressed size stay 0 here: they follow the data in the descriptor.
    local.writeUInt16LE(name.length, 26);
    await this.put(Buffer.concat([local, name]));

    let crc = 0;
    let size = 0;
    let compressed = 0;
    const deflate = zlib.createDeflateRaw();
    // The compressed side is drained concurrently; when the sink fails (client gone), the producer below must stop
    // waiting for 'drain', hence the abort signal.
    const stop = new AbortController();
    const drained = (async () => {
      for await (const chunk of deflate as AsyncIterable<Buffer>) {
        compressed += chunk.length;
        await this.put(chunk);
      }
    })().catch((err: unknown) => {
      stop.abort(err);
      throw err;
    });
    drained.catch(() => undefined); // observed below; this only keeps an early failure from looking unhandled
    try {
      for await (const chunk of content) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (size > MAX_32) throw new Error('zip entry larger than 4 GiB (no ZIP64)');
        if (!deflate.write(chunk)) await once(deflate, 'drain', { signal: stop.signal });
      }
      deflate.end();
    } catch (err) {
      deflate.destroy();
      await drained.catch(() => undefined);
      throw err;
    }
    await drained;

    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(compressed, 8);
    descriptor.writeUInt32LE(size, 12);
    await this.put(descriptor);

    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(VERSION, 4); // made by: MS-DOS, 2.0 (external attributes are DOS ones: none)
    entry.writeUInt16LE(VERSION, 6);
    entry.writeUInt16LE(flags, 8);
    entry.writeUInt16LE(METHOD_DEFLATE, 10);
    entry.writeUInt16LE(this.stamp.time, 12);
    entry.writeUInt16LE(this.stamp.date, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(compressed, 20);
    entry.writeUInt32LE(size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(headerOffset, 42);
    this.central.push(entry, name);
  }

  /** Writes the central directory and its end record. */
  async finish(): Promise<void> {
    const start = this.offset;
    const directory = Buffer.concat(this.central);
    await this.put(directory);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    const entries = this.central.length / 2;
    end.writeUInt16LE(entries, 8);
    end.writeUInt16LE(entries, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(start, 16);
    await this.put(end);
  }
}
