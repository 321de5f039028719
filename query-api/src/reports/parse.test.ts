/**
 * The abuse-report parser on small samples in the real formats: X-ARF v0.2 (YAML key-value
 * report, https://github.com/abusix/xarf — schema "login-attack"), X-ARF v1 JSON (the `Report`
 * object), an X-ARF v0.2 email (the YAML report as the second MIME part), and ARF (RFC 5965
 * §3: multipart/report; report-type=feedback-report, with a message/feedback-report part and the
 * original message as message/rfc822). Malformed reports name the field that is wrong.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../common/errors.ts';
import { parseReport } from './parse.ts';

const xarfYaml = `Reported-From: abuse@reporter.example
Category: abuse
Report-Type: login-attack
Service: ssh
Version: '0.2'
User-Agent: fail2ban-xarf 1.0
Date: '2026-12-01T10:15:30Z'
Source: 192.0.2.17
Source-Type: ipv4
Destination: 203.0.113.9
Port: 22
Attachment: text/plain
`;

const xarfJson = JSON.stringify({
  Version: '2',
  ReporterInfo: { ReporterOrg: 'Example CERT', ReporterOrgEmail: 'cert@reporter.example' },
  Report: {
    ReportClass: 'Activity',
    ReportType: 'LoginAttack',
    Date: '2026-12-01T10:15:30+01:00',
    SourceIp: '2001:db8::17',
    SourcePort: 51514,
    DestinationIp: '2001:db8:ffff::9',
    DestinationPort: 22,
  },
});

// RFC 5965 §3 / Appendix B: the second part is the machine-readable report, the third the original.
const arf = [
  'From: <abusedesk@receiver.example>',
  'To: <abuse@flowtrail.example>',
  'Subject: FW: Earn money',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=feedback-report;',
  '     boundary="part1_13d.2e68ed54_boundary"',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: text/plain; charset="US-ASCII"',
  'Content-Transfer-Encoding: 7bit',
  '',
  'This is an email abuse report for an email message received from IP',
  '192.0.2.33 on Thu, 8 Mar 2005 14:00:00 EDT.',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: message/feedback-report',
  '',
  'Feedback-Type: abuse',
  'User-Agent: SomeGenerator/1.0',
  'Version: 1',
  'Original-Mail-From: <somespammer@example.net>',
  'Original-Rcpt-To: <user@example.com>',
  'Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT',
  'Reporting-MTA: dns; mail.example.com',
  'Source-IP: 192.0.2.33',
  'Authentication-Results: mail.example.com;',
  '               spf=fail smtp.mail=somespammer@example.com',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: message/rfc822',
  'Content-Disposition: inline',
  '',
  'From: <somespammer@example.net>',
  'Received: from mailserver.example.net (mailserver.example.net [192.0.2.33])',
  'Subject: Earn money',
  'Date: Thu, 8 Mar 2005 17:40:36 EDT',
  '',
  'Spam Spam Spam',
  '',
  '--part1_13d.2e68ed54_boundary--',
  '',
].join('\r\n');

// X-ARF v0.2 as mailed: the report is a YAML attachment (second part).
const xarfMail = `From: abuse@reporter.example
To: abuse@flowtrail.example
Subject: abuse report about 192.0.2.17 - 2026-12-01T10:15:30Z
MIME-Version: 1.0
X-XARF: PLAIN
Content-Type: multipart/mixed; boundary="Abuse-bfbb0b6b"

--Abuse-bfbb0b6b
Content-Type: text/plain; charset=utf-8

Dear abuse team, 192.0.2.17 tried to log in to our ssh server.
--Abuse-bfbb0b6b
Content-Type: text/plain; charset=utf-8; name="report.txt"

${xarfYaml}
--Abuse-bfbb0b6b--
`;

function fails(raw: string): InputError {
  try {
    parseReport(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('query-api > reports > parse', () => {
  it('reads an X-ARF v0.2 YAML report: Source is ours, Destination theirs', () => {
    expect(parseReport(xarfYaml)).toEqual({
      format: 'x-arf',
      ours: '192.0.2.17',
      theirs: '203.0.113.9',
      port: 22,
      at: '2026-12-01T10:15:30.000Z',
      tolerance: 300,
      category: 'abuse/login-attack',
      raw: xarfYaml,
    });
  });

  it('reads an X-ARF JSON report with a Report object (IPv6, offset date)', () => {
    expect(parseReport(xarfJson)).toMatchObject({
      format: 'x-arf',
      ours: '2001:db8::17',
      theirs: '2001:db8:ffff::9',
      port: 22,
      at: '2026-12-01T09:15:30.000Z',
      category: 'LoginAttack',
    });
  });

  it('reads an X-ARF report sent as an email attachment', () => {
    expect(parseReport(xarfMail)).toMatchObject({ format: 'x-arf', ours: '192.0.2.17', port: 22 });
  });

  it('reads an ARF (RFC 5965) feedback report: Source-IP, Arrival-Date, SMTP', () => {
    const r = parseReport(arf);
    expect(r).toMatchObject({
      format: 'arf',
      ours: '192.0.2.33',
      port: 25,
      protocol: 'tcp',
      at: '2005-03-08T18:00:00.000Z',
      category: 'abuse',
    });
    expect(r.theirs).toBeUndefined();
    expect(r.raw).toBe(arf);
  });

  it.each([
    [
      'a bad Source',
      xarfYaml.replace('Source: 192.0.2.17', 'Source: abc'),
      'Source',
      'Source: not an IP address: "abc"',
    ],
    ['no Source', xarfYaml.replace('Source: 192.0.2.17\n', ''), 'Source', 'Source: missing'],
    ['a bad Port', xarfYaml.replace('Port: 22', 'Port: 70000'), 'Port', 'Port: not a port'],
    [
      'a bad Date',
      xarfYaml.replace("Date: '2026-12-01T10:15:30Z'", 'Date: yesterday-ish'),
      'Date',
      'Date: not a date',
    ],
    ['no Date', xarfYaml.replace("Date: '2026-12-01T10:15:30Z'\n", ''), 'Date', 'Date: missing'],
    [
      'a bad Destination',
      xarfYaml.replace('Destination: 203.0.113.9', 'Destination: 999.1.1.1'),
      'Destination',
      'Destination: not an IP',
    ],
    [
      'a bad Report.SourceIp',
      xarfJson.replace('2001:db8::17', 'nope'),
      'Report.SourceIp',
      'Report.SourceIp: not an IP address: "nope"',
    ],
    [
      'a bad ARF Source-IP',
      arf.replace('Source-IP: 192.0.2.33', 'Source-IP: 192.0.2'),
      'Source-IP',
      'Source-IP: not an IP',
    ],
    [
      'no ARF Arrival-Date',
      arf.replace('Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n', ''),
      'Arrival-Date',
      'Arrival-Date: missing',
    ],
    ['not a report', '- just\n- a list\n', 'report', 'report: expected an X-ARF object'],
    ['broken YAML', 'Source: [192.0.2.1\n', 'report', 'report: neither JSON nor YAML'],
    ['an empty body', '  \n', 'report', 'report: empty'],
    [
      'a mail without a report part',
      'MIME-Version: 1.0\nContent-Type: text/plain\n\nhello\n',
      'Content-Type',
      'Content-Type: an email report needs',
    ],
  ])('rejects %s, naming the field', (_what, raw, param, message) => {
    const err = fails(raw);
    expect(err.param).toBe(param);
    expect(err.message).toContain(message);
  });
});
