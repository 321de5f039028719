/**
 * @module google.protobuf.FieldMask ↔ its JSON string, as protojson does it.
 *
 * Wire shape (ts-proto): `string[]` of snake_case paths (`source.pod_name`). JSON shape: one string, the
 * paths converted to lowerCamel and joined by commas (`"source.podName,verdict"`). protojson refuses paths
 * whose conversion cannot be undone, e.g. Hubble's `IP` (lowerCamel `IP` reads back as `_i_p`); so do we.
 */

const FULL_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** protojson's snake_case → lowerCamel: drop each `_` and upper-case a following lower-case letter. */
function jsonCamelCase(s: string): string {
  return s.replace(/_([a-z])?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

/** protojson's lowerCamel → snake_case: `_` before, and lower-casing of, every upper-case letter. */
function jsonSnakeCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Formats FieldMask paths as protojson's JSON string; throws a RangeError for paths it would refuse. */
export function formatFieldMask(paths: readonly string[]): string {
  return paths
    .map((path) => {
      if (!FULL_NAME.test(path)) throw new RangeError(`invalid FieldMask path "${path}"`);
      const camel = jsonCamelCase(path);
      if (jsonSnakeCase(camel) !== path) {
        throw new RangeError(
          `FieldMask path "${path}" has no reversible JSON form (protojson refuses it too)`,
        );
      }
      return camel;
    })
    .join(',');
}

/** Parses protojson's FieldMask string into snake_case paths; throws a RangeError on a malformed path. */
export function parseFieldMask(text: string): string[] {
  if (text === '') return [];
  return text.split(',').map((camel) => {
    const path = jsonSnakeCase(camel);
    if (camel.includes('_') || !FULL_NAME.test(path))
      throw new RangeError(`invalid FieldMask path "${camel}"`);
    return path;
  });
}
