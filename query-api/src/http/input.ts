/**
 * Hostile input at the edge of the HTTP API, refused with a 400 that says what is wrong before
 * any route sees it: the one JSON body parser (a size limit and a nesting limit checked on the raw
 * bytes before parsing, so a 5,000-deep body never overflows the stack of whatever walks the
 * parsed value later), and paths whose percent-encoding does not decode to UTF-8 (`%`, `%ff%fe`,
 * overlong `%C0%AF`, surrogates `%ED%A0%80`, beyond U+10FFFF `%F4%90%80%80`).
 * @module
 */
import express, { type RequestHandler } from 'express';
import { InputError } from '../../../common/errors.ts';

/** 400 for a path with malformed percent-encoding (the router would fail decoding its params). */
export const rejectMalformedPath: RequestHandler = (req, _res, next) => {
  const p = req.path;
  if (p.includes('%')) {
    try {
      decodeURIComponent(p);
    } catch {
      next(new InputError('path: malformed percent-encoding (expected UTF-8 escapes like %2F)', 'path'));
      return;
    }
  }
  next();
};

/** Deepest nesting of arrays and objects a request body may have. */
export const maxBodyDepth = 32;

/** The nesting depth of JSON text (brackets outside strings); stops counting past `stopAt`. */
export function jsonDepth(buf: Uint8Array, stopAt = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** express.json with `limit` and the nesting limit (400 `request body nests deeper than …`). */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, buf) => {
      if (jsonDepth(buf, maxBodyDepth) > maxBodyDepth) {
        throw Object.assign(new Error(`request body nests deeper than ${maxBodyDepth} levels`), {
          status: 400,
          expose: true,
          type: 'entity.too.deep',
        });
      }
    },
  });
}
