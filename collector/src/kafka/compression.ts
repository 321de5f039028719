/**
 * Kafka record-batch compression. kafkajs ships GZIP only; LZ4 (the default here) is registered from
 * lz4-napi, a native (Rust lz4_flex) frame codec that runs off the event loop. Why LZ4: on 2 cores
 * the collector, the writer and the broker share the CPU, and LZ4 compresses protobuf flows several
 * times smaller at hundreds of MB/s per core, where zlib's GZIP manages tens of MB/s — GZIP would
 * cost more CPU than the whole pipeline has. The broker must decompress to validate a batch too, and
 * LZ4 is the cheapest codec for it. ZSTD would save a little more disk at more CPU.
 * @module
 */

import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';

// kafkajs is CommonJS: Node's ESM loader only sees its default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

import { ConfigError } from '../../../common/errors.ts';

/** Codecs the producer can be told to use (`KAFKA_COMPRESSION`). */
export const compressions = ['lz4', 'gzip', 'none'] as const;
export type Compression = (typeof compressions)[number];

let lz4Registered = false;

/** Registers the LZ4 codec with kafkajs (idempotent); consumers need it to read LZ4 batches too. */
export function registerCodecs(): void {
  if (lz4Registered) return;
  lz4Registered = true;
  const codec = {
    compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
    decompress: (buffer: Buffer) => decompressFrame(buffer),
  };
  (CompressionCodecs as Record<number, () => typeof codec>)[CompressionTypes.LZ4] = () => codec;
}

/** The kafkajs compression type of a codec name. */
export function compressionType(name: string): kafkajs.CompressionTypes {
  switch (name) {
    case 'lz4':
      registerCodecs();
      return CompressionTypes.LZ4;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'none':
      return CompressionTypes.None;
    default:
      throw new ConfigError(`KAFKA_COMPRESSION must be one of ${compressions.join(', ')}, got "${name}"`);
  }
}
