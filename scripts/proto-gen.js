#!/usr/bin/env node
/**
 * @module Regenerates proto/gen/ from proto/**\/*.proto: `npm run proto:gen` (or `node scripts/proto-gen.js
 * --out <dir>` to generate elsewhere, as the staleness test does).
 *
 * Two generators, both local (no network plugins):
 * 1. ts-proto via `buf generate` (template proto/buf.gen.yaml) writes one .ts file per .proto file.
 *    Options, and why:
 *    - outputServices=grpc-js: clients and servers for @grpc/grpc-js (Observer, Peer, Health).
 *    - forceLong=bigint: uint64/int64 are BigInt; the CLI sends number = 2^64-1 for --all.
 *    - esModuleInterop=true, importSuffix=.js: NodeNext ESM; tsx resolves `.js` to the `.ts` file.
 *    - snakeToCamel=false: TS properties are the proto names (`node_name`, `IP`, `Summary`), as in Hubble JSON.
 *    - useDate=false: Timestamp stays `{ seconds: bigint, nanos: number }`, so nanoseconds are never lost.
 *    - enumsAsLiterals=true: enums are `as const` objects (tsconfig has erasableSyntaxOnly, no TS `enum`).
 *    - unrecognizedEnum=false: no fake UNRECOGNIZED member; unknown numbers decode as bare numbers.
 *    - useOptionals=messages: message fields are optional keys (`flow.l4?.TCP?.flags?.SYN`).
 *    - outputJsonMethods=false: ts-proto's toJSON/fromJSON lose nanoseconds and unknown enum numbers; the
 *      Hubble JSON codec is proto/src/hubble-json.ts.
 * 2. This script turns `buf build`'s descriptor set into proto/gen/schema.ts: every message's fields (name,
 *    lowerCamel JSON name, number, kind, type, oneof) in declaration order, and every enum, which the JSON
 *    codec walks instead of reflection.
 *
 * Both write into a scratch folder first; the target folder is then replaced as a whole, so files of
 * removed .proto files disappear too.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binDir = path.join(repoRoot, 'node_modules', '.bin');

/** Descriptor `type` values mapped to the .proto spelling used in schema.ts. */
const KINDS = {
  TYPE_DOUBLE: 'double',
  TYPE_FLOAT: 'float',
  TYPE_INT64: 'int64',
  TYPE_UINT64: 'uint64',
  TYPE_INT32: 'int32',
  TYPE_FIXED64: 'fixed64',
  TYPE_FIXED32: 'fixed32',
  TYPE_BOOL: 'bool',
  TYPE_STRING: 'string',
  TYPE_MESSAGE: 'message',
  TYPE_BYTES: 'bytes',
  TYPE_UINT32: 'uint32',
  TYPE_ENUM: 'enum',
  TYPE_SFIXED32: 'sfixed32',
  TYPE_SFIXED64: 'sfixed64',
  TYPE_SINT32: 'sint32',
  TYPE_SINT64: 'sint64',
};

function parseArgs(argv) {
  let out = path.join(repoRoot, 'proto', 'gen');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) {
      out = path.resolve(argv[++i]);
    } else {
      throw new Error(`unknown argument ${argv[i]}; usage: node scripts/proto-gen.js [--out <dir>]`);
    }
  }
  return { out };
}

function buf(args) {
  execFileSync(path.join(binDir, 'buf'), args, {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}` },
  });
}

/** Collects messages and enums of one file, nested ones included, keyed by full name. */
function collect(file, messages, enums) {
  const visitEnum = (prefix, e) => {
    enums.push([`${prefix}${e.name}`, (e.value ?? []).map((v) => [v.name, v.number ?? 0])]);
  };
  const visitMessage = (prefix, m) => {
    const fullName = `${prefix}${m.name}`;
    if (m.options?.mapEntry) {
      throw new Error(`${fullName}: map fields are not supported by proto/src/hubble-json.ts`);
    }
    const oneofs = (m.oneofDecl ?? []).map((o) => o.name);
    const fields = (m.field ?? []).map((f) => {
      if (f.proto3Optional) {
        throw new Error(
          `${fullName}.${f.name}: proto3 optional is not supported by proto/src/hubble-json.ts`,
        );
      }
      const kind = KINDS[f.type];
      if (!kind) throw new Error(`${fullName}.${f.name}: unsupported field type ${f.type}`);
      const field = {
        name: f.name,
        jsonName: f.jsonName ?? f.name,
        number: f.number,
        kind,
        repeated: f.label === 'LABEL_REPEATED',
      };
      if (f.typeName) field.type = f.typeName.replace(/^\./, '');
      if (f.oneofIndex !== undefined) field.oneof = oneofs[f.oneofIndex];
      return field;
    });
    messages.push([fullName, fields]);
    for (const e of m.enumType ?? []) visitEnum(`${fullName}.`, e);
    for (const n of m.nestedType ?? []) visitMessage(`${fullName}.`, n);
  };
  const prefix = file.package ? `${file.package}.` : '';
  for (const e of file.enumType ?? []) visitEnum(prefix, e);
  for (const m of file.messageType ?? []) visitMessage(prefix, m);
}

function renderSchema(image) {
  const messages = [];
  const enums = [];
  const files = image.file
    .filter((f) => !f.name.startsWith('google/'))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const file of files) collect(file, messages, enums);
  const q = (s) => `'${s}'`;
  const lines = [
    '// Code generated by scripts/proto-gen.js from the proto/ descriptors. DO NOT EDIT.',
    `// source: ${files.map((f) => f.name).join(', ')}`,
    '',
    '/**',
    ' * Runtime description of every message and enum of proto/ (google/protobuf types excepted), fields in',
    ' * declaration order, so that proto/src/hubble-json.ts can implement protojson without reflection.',
    ' */',
    '',
    "/** A field's type as spelled in .proto; `message` and `enum` name the type in `type`. */",
    'export type FieldKind =',
    ...Object.values(KINDS).map((k, i, all) => `  | '${k}'${i === all.length - 1 ? ';' : ''}`),
    '',
    '/** One field of a message. */',
    'export interface FieldSchema {',
    '  /** Proto field name: the generated TS property and the Hubble JSON key. */',
    '  readonly name: string;',
    "  /** protojson's lowerCamel name, accepted on input. */",
    '  readonly jsonName: string;',
    '  readonly number: number;',
    '  readonly kind: FieldKind;',
    '  readonly repeated: boolean;',
    '  /** Full name of the message or enum type, without the leading dot. */',
    '  readonly type?: string;',
    '  /** Name of the oneof the field belongs to. */',
    '  readonly oneof?: string;',
    '}',
    '',
    '/** Fields of every message, by full name (`flow.Flow`, `flow.FlowFilter.Experimental`). */',
    'export const messageSchemas: Readonly<Record<string, readonly FieldSchema[]>> = {',
  ];
  for (const [name, fields] of messages) {
    lines.push(`  ${q(name)}: [`);
    for (const f of fields) {
      const parts = [
        `name: ${q(f.name)}`,
        `jsonName: ${q(f.jsonName)}`,
        `number: ${f.number}`,
        `kind: ${q(f.kind)}`,
        `repeated: ${f.repeated}`,
      ];
      if (f.type) parts.push(`type: ${q(f.type)}`);
      if (f.oneof) parts.push(`oneof: ${q(f.oneof)}`);
      lines.push(`    { ${parts.join(', ')} },`);
    }
    lines.push('  ],');
  }
  lines.push('};', '', '/** Values of every enum (name → number, declaration order), by full name. */');
  lines.push('export const enumSchemas: Readonly<Record<string, Readonly<Record<string, number>>>> = {');
  for (const [name, values] of enums) {
    lines.push(`  ${q(name)}: {`);
    for (const [vName, vNumber] of values) lines.push(`    ${vName}: ${vNumber},`);
    lines.push('  },');
  }
  lines.push('};', '');
  return lines.join('\n');
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const scratch = mkdtempSync(path.join(tmpdir(), 'flowtrail-proto-gen-'));
  try {
    buf(['generate', 'proto', '--template', 'proto/buf.gen.yaml', '--output', scratch]);
    const imagePath = path.join(scratch, 'image.json');
    buf(['build', 'proto', '--exclude-source-info', '--output', imagePath]);
    const image = JSON.parse(readFileSync(imagePath, 'utf8'));
    writeFileSync(path.join(scratch, 'gen', 'schema.ts'), renderSchema(image));
    rmSync(out, { recursive: true, force: true });
    cpSync(path.join(scratch, 'gen'), out, { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`proto: generated ${path.relative(repoRoot, out) || out}\n`);
}

main();
