/**
 * Security headers on every answer of the API and the UI served beside it: a Content Security
 * Policy that loads scripts, styles, data and frames only from this origin (the UI is built to
 * static files, no inline scripts; d3 sets inline styles, hence style-src 'unsafe-inline'), no
 * framing (clickjacking), no Referer leaking investigation URLs, and no MIME sniffing.
 * @module
 */
import type { RequestHandler } from 'express';

/** The Content-Security-Policy value. */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sets the security headers; mount first. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
};
