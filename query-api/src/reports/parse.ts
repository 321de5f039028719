/**
 * Abuse reports as they arrive at an abuse desk, turned into the fields of an investigation.
 * Two formats:
 * - X-ARF (https://github.com/abusix/xarf): the v0.2 YAML/JSON key-value report (`Source`,
 *   `Port`, `Date`, `Category`, `Report-Type`, …), bare or as the report part of an X-ARF email,
 *   and the newer JSON form with a `Report` object (`SourceIp`, `DestinationIp`, `Date`, …).
 * - ARF (RFC 5965): a `multipart/report; report-type=feedback-report` email whose
 *   `message/feedback-report` part carries `Source-IP` and `Arrival-Date`, followed by the
 *   original message.
 * The reported address (the sender of the abuse) is OUR side; the reporter's host is theirs.
 * Pure: no I/O. Malformed input throws an InputError naming the field and why.
 * @module
 */
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../../common/errors.ts';

/** Seconds either side of the reported instant searched by default (reports' clocks drift). */
export const defaultReportToleranceS = 300;

/** What a report says, in investigation terms. */
export interface ParsedReport {
  format: 'x-arf' | 'arf';
  /** The reported address: our side. */
  ours: string;
  /** The reporter's (victim's) address, when the report names it. */
  theirs?: string;
  port?: number;
  protocol?: string;
  /** The reported instant (RFC 3339, UTC). */
  at: string;
  tolerance: number;
  /** X-ARF Category/Report-Type or ARF Feedback-Type, for the case's title. */
  category?: string;
  /** The report exactly as received. */
  raw: string;
}

/** Largest report accepted (the original message of an ARF report can be long). */
export const maxReportBytes = 1_000_000;

/** Parses an X-ARF (JSON or YAML) or ARF (RFC 5965 email) report. */
export function parseReport(raw: string): ParsedReport {
  if (raw.trim() === '') throw new InputError('report: empty', 'report');
  if (Buffer.byteLength(raw) > maxReportBytes)
    throw new InputError(`report: larger than ${maxReportBytes} bytes`, 'report');
  if (looksLikeEmail(raw)) return parseEmail(raw);
  return parseXarfText(raw, raw);
}

// --- X-ARF -------------------------------------------------------------------------------------

function parseXarfText(text: string, raw: string): ParsedReport {
  let doc: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both forms.
    doc = parseYaml(text, { maxAliasCount: 10 });
  } catch (err) {
    throw new InputError(`report: neither JSON nor YAML: ${firstLine((err as Error).message)}`, 'report');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new InputError('report: expected an X-ARF object of fields (Source, Date, …)', 'report');
  return xarfFields(doc as Record<string, unknown>, raw);
}

function xarfFields(doc: Record<string, unknown>, raw: string): ParsedReport {
  const report = doc['Report'];
  if (report !== undefined) {
    // X-ARF v1+ JSON: the fields live in `Report`, named SourceIp, DestinationIp, …
    if (report === null || typeof report !== 'object' || Array.isArray(report))
      throw new InputError('Report: expected an object', 'Report');
    const r = report as Record<string, unknown>;
    const port = pick(r, 'DestinationPort') ?? pick(r, 'SourcePort');
    return withoutUndefined({
      format: 'x-arf',
      ours: ip(r, 'SourceIp', 'Report.SourceIp', true)!,
      theirs: ip(r, 'DestinationIp', 'Report.DestinationIp', false),
      port: port === undefined ? undefined : portOf(port.value, `Report.${port.key}`),
      protocol: protocolOf(r, 'Report.'),
      at: dateOf(r, ['Date'], 'Report.'),
      tolerance: defaultReportToleranceS,
      category: str(r['ReportType']) ?? str(r['ReportClass']),
      raw,
    });
  }
  // X-ARF v0.2: flat key-value fields.
  const theirsKey = ['Destination', 'Destination-IP', 'Target', 'Target-IP'].find(
    (k) => doc[k] !== undefined,
  );
  const port = pick(doc, 'Port') ?? pick(doc, 'Destination-Port');
  const category = [str(doc['Category']), str(doc['Report-Type'])].filter(Boolean).join('/');
  return withoutUndefined({
    format: 'x-arf',
    ours: ip(doc, 'Source', 'Source', true)!,
    theirs: theirsKey ? ip(doc, theirsKey, theirsKey, false) : undefined,
    port: port === undefined ? undefined : portOf(port.value, port.key),
    protocol: protocolOf(doc, ''),
    at: dateOf(doc, ['Date', 'Time'], ''),
    tolerance: defaultReportToleranceS,
    category: category || undefined,
    raw,
  });
}

function pick(o: Record<string, unknown>, key: string): { key: string; value: unknown } | undefined {
  return o[key] === undefined || o[key] === null ? undefined : { key, value: o[key] };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function ip(o: Record<string, unknown>, key: string, name: string, required: boolean): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new InputError(`${name}: missing (the reported address)`, name);
    return undefined;
  }
  if (typeof v !== 'string' || isIP(v.trim()) === 0)
    throw new InputError(`${name}: not an IP address: ${JSON.stringify(shorten(v))}`, name);
  return v.trim();
}

function portOf(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InputError(`${name}: not a port (0-65535): ${JSON.stringify(shorten(v))}`, name);
  return n;
}

function protocolOf(o: Record<string, unknown>, prefix: string): string | undefined {
  const key = ['Protocol', 'Transport'].find((k) => o[k] !== undefined && o[k] !== null);
  if (!key) return undefined;
  const v = str(o[key])?.toLowerCase();
  if (!v || !/^[a-z0-9-]{1,16}$/.test(v))
    throw new InputError(
      `${prefix}${key}: not a protocol name: ${JSON.stringify(shorten(o[key]))}`,
      prefix + key,
    );
  return v;
}

function dateOf(o: Record<string, unknown>, keys: string[], prefix: string): string {
  const key = keys.find((k) => o[k] !== undefined && o[k] !== null);
  if (!key) throw new InputError(`${prefix}${keys[0]}: missing (when it happened)`, prefix + keys[0]);
  return instant(o[key], prefix + key);
}

/** An RFC 3339 or RFC 5322 date (both appear in reports), as RFC 3339 UTC. */
function instant(v: unknown, name: string): string {
  // YAML reads an unquoted ISO timestamp as a Date.
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v.trim()) : NaN;
  if (!Number.isFinite(ms))
    throw new InputError(`${name}: not a date (RFC 3339 or RFC 5322): ${JSON.stringify(shorten(v))}`, name);
  return new Date(ms).toISOString();
}

// --- Email (ARF, or X-ARF sent as mail) --------------------------------------------------------

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

function looksLikeEmail(raw: string): boolean {
  // An email starts with header lines and has a Content-Type or MIME-Version header; YAML keys
  // like "Source: …" also look like headers, so require one of those.
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return /^(content-type|mime-version)\s*:/im.test(head) && /^[\w-]+:/.test(raw.trimStart());
}

function parsePart(text: string): MimePart {
  // A part may have no header fields: its body starts right after the delimiter's blank line.
  if (/^\r?\n/.test(text)) return { headers: new Map(), body: text.replace(/^\r?\n/, '') };
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  const body = m ? text.slice(m.index + m[0].length) : '';
  return { headers: headerFields(head), body };
}

/** Header fields (unfolded, names lower-cased; the first occurrence wins). */
function headerFields(head: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!out.has(name)) out.set(name, line.slice(i + 1).trim());
  }
  return out;
}

function mediaType(part: MimePart): { type: string; params: Map<string, string> } {
  const ct = part.headers.get('content-type') ?? 'text/plain';
  const [type = '', ...rest] = ct.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i > 0)
      params.set(
        p.slice(0, i).trim().toLowerCase(),
        p
          .slice(i + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
  }
  return { type: type.trim().toLowerCase(), params };
}

function decoded(part: MimePart): string {
  const cte = part.headers.get('content-transfer-encoding')?.toLowerCase();
  if (cte === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable')
    return part.body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return part.body;
}

/** The leaf parts of a MIME message, depth first (a message/rfc822 part is a leaf). */
function leaves(part: MimePart, depth = 0): MimePart[] {
  const { type, params } = mediaType(part);
  const boundary = params.get('boundary');
  if (!type.startsWith('multipart/') || !boundary || depth > 5) return [part];
  const chunks: string[][] = [];
  let cur: string[] | undefined; // undefined in the preamble
  for (const line of part.body.split(/\r?\n/)) {
    const t = line.trimEnd();
    if (t === `--${boundary}--`) break; // the epilogue follows the closing delimiter
    if (t === `--${boundary}`) {
      if (cur) chunks.push(cur);
      cur = [];
      continue;
    }
    cur?.push(line);
  }
  if (cur) chunks.push(cur);
  return chunks
    .filter((c) => c.join('').trim() !== '')
    .flatMap((c) => leaves(parsePart(c.join('\n')), depth + 1));
}

function parseEmail(raw: string): ParsedReport {
  const top = parsePart(raw);
  const parts = leaves(top);
  const feedback = parts.find((p) => mediaType(p).type === 'message/feedback-report');
  if (feedback) return arfFields(headerFields(decoded(feedback)), raw);
  // X-ARF v0.2 mail: the report is the part named by X-XARF, else the YAML/JSON part.
  const xarf = parts.find(
    (p) =>
      /ya?ml|json/.test(mediaType(p).type) ||
      /report\.(ya?ml|txt|json)/i.test(p.headers.get('content-type') ?? ''),
  );
  if (xarf) return parseXarfText(decoded(xarf), raw);
  throw new InputError(
    'Content-Type: an email report needs a message/feedback-report part (ARF, RFC 5965) or an X-ARF YAML/JSON part',
    'Content-Type',
  );
}

function arfFields(f: Map<string, string>, raw: string): ParsedReport {
  const source = f.get('source-ip');
  if (!source) throw new InputError('Source-IP: missing (the reported address)', 'Source-IP');
  if (isIP(source) === 0)
    throw new InputError(`Source-IP: not an IP address: ${JSON.stringify(shorten(source))}`, 'Source-IP');
  // Arrival-Date is RFC 5965's name; Received-Date its legacy alias.
  const dateKey = ['arrival-date', 'received-date'].find((k) => f.has(k));
  if (!dateKey) throw new InputError('Arrival-Date: missing (when the message arrived)', 'Arrival-Date');
  const dateName = dateKey === 'arrival-date' ? 'Arrival-Date' : 'Received-Date';
  return withoutUndefined({
    format: 'arf',
    ours: source,
    // ARF reports mail our host delivered to the reporter's MX: SMTP, TCP port 25.
    port: 25,
    protocol: 'tcp',
    at: instant(f.get(dateKey), dateName),
    tolerance: defaultReportToleranceS,
    category: f.get('feedback-type'),
    raw,
  });
}

// --- helpers -----------------------------------------------------------------------------------

function shorten(v: unknown): unknown {
  return typeof v === 'string' && v.length > 64 ? `${v.slice(0, 64)}…` : v;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
