/**
 * @module The version of Flowtrail's message schema.
 */

/**
 * Flowtrail's message schema version. Bump it on any incompatible change to proto/ (a field renumbered,
 * retyped or removed); it is appended to Kafka topic names (`flows-v1`), so old and new writers never share
 * a topic. Adding fields is compatible and needs no bump.
 */
export const SCHEMA_VERSION = 1;
