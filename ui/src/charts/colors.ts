/**
 * Colours with a meaning: verdicts keep the same colour on every chart so a red band always
 * means dropped traffic. Other keys get a stable categorical colour.
 * @module
 */
import * as d3 from 'd3';

const verdictColors: Record<string, string> = {
  FORWARDED: '#2e7d32',
  DROPPED: '#c62828',
  ERROR: '#ef6c00',
  AUDIT: '#6a1b9a',
  REDIRECTED: '#1565c0',
  TRACED: '#607d8b',
  TRANSLATED: '#00838f',
  VERDICT_UNKNOWN: '#9e9e9e',
};

const categorical = d3.scaleOrdinal<string, string>(d3.schemeTableau10);

/** The colour of a verdict, or a stable categorical colour for any other key. */
export function colorOf(key: string): string {
  return verdictColors[key] ?? categorical(key);
}
