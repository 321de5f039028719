import { describe, expect, it } from 'vitest';
import { RowBinaryWriter } from './row-binary.ts';

describe('common > clickhouse > row-binary', () => {
  it.each([
    { description: 'empty string', write: (w: RowBinaryWriter) => w.string(''), expected: [0] },
    { description: 'ascii string', write: (w: RowBinaryWriter) => w.string('ab'), expected: [2, 97, 98] },
    { description: 'utf-8 string', write: (w: RowBinaryWriter) => w.string('é'), expected: [2, 0xc3, 0xa9] },
    { description: 'uint16 LE', write: (w: RowBinaryWriter) => w.uint16(0x1234), expected: [0x34, 0x12] },
    {
      description: 'uint32 LE, modulo 2^32',
      write: (w: RowBinaryWriter) => {
        w.uint32(0x12345678);
        w.uint32(0xffffffff);
        w.uint32(2 ** 32 + 5);
      },
      expected: [0x78, 0x56, 0x34, 0x12, 255, 255, 255, 255, 5, 0, 0, 0],
    },
    {
      description: 'int32 and int8, two’s complement',
      write: (w: RowBinaryWriter) => {
        w.int32(-2);
        w.int32(-(2 ** 31));
        w.int8(-1);
        w.int8(127);
      },
      expected: [0xfe, 255, 255, 255, 0, 0, 0, 0x80, 255, 127],
    },
    {
      description: 'uint64 max',
      write: (w: RowBinaryWriter) => w.uint64(18446744073709551615n),
      expected: [255, 255, 255, 255, 255, 255, 255, 255],
    },
    {
      description: 'string array',
      write: (w: RowBinaryWriter) => w.stringArray(['a', '']),
      expected: [2, 1, 97, 0],
    },
  ])('encodes $description', ({ write, expected }) => {
    const w = new RowBinaryWriter(4);
    write(w);
    expect([...w.take()]).toEqual(expected);
  });

  it('prefixes long strings with a multi-byte LEB128 length and grows the buffer', () => {
    const w = new RowBinaryWriter(8);
    w.string('x'.repeat(300));
    const out = w.take();
    expect([out[0], out[1]]).toEqual([0xac, 0x02]);
    expect(out.length).toBe(302);
  });
});
