import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { loadConfig, parseConfig } from './load.ts';

const hash = 'a'.repeat(64);

describe('common > config > load', () => {
  it('defaults validate and are frozen', () => {
    const c = parseConfig({});
    expect(c.auth.mode).toBe('tokens');
    expect(c.tokens).toEqual([]);
    expect(c.api.limits.maxRowsPerResponse).toBe(10_000);
    expect(Object.isFrozen(c.api.limits)).toBe(true);
  });

  it.each([
    { description: 'unknown top-level key', doc: { tokenz: [] }, message: 'tokenz' },
    { description: 'unknown nested key', doc: { api: { limits: { maxRows: 1 } } }, message: 'maxRows' },
    {
      description: 'tenant role without tenant',
      doc: { tokens: [{ name: 't', role: 'tenant', sha256: hash }] },
      message: 'tokens.0.tenant',
    },
    {
      description: 'tenant on a non-tenant role',
      doc: { tokens: [{ name: 't', role: 'sre', tenant: 'x', sha256: hash }] },
      message: 'tokens.0.tenant',
    },
    {
      description: 'a token instead of its hash',
      doc: { tokens: [{ name: 't', role: 'admin', sha256: 'secret' }] },
      message: 'SHA-256',
    },
    {
      description: 'duplicate names',
      doc: {
        tokens: [
          { name: 't', role: 'admin', sha256: hash },
          { name: 't', role: 'sre', sha256: 'b'.repeat(64) },
        ],
      },
      message: 'duplicate',
    },
    { description: 'bad auth mode', doc: { auth: { mode: 'none' } }, message: 'auth.mode' },
  ])('rejects $description', ({ doc, message }) => {
    expect(() => parseConfig(doc)).toThrow(ConfigError);
    expect(() => parseConfig(doc)).toThrow(message);
  });

  it('FLOWTRAIL_AUTH_MODE=open turns on open mode explicitly', () => {
    expect(loadConfig({ FLOWTRAIL_AUTH_MODE: 'open' }).config.auth.mode).toBe('open');
    expect(loadConfig({}).config.auth.mode).toBe('tokens');
  });
});
