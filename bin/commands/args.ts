/**
 * Command-line argument parsing for the `flowtrail` subcommands, on Node's util.parseArgs, with
 * errors that name the flag and say what is wrong.
 * @module
 */
import { parseArgs } from 'node:util';
import { InputError } from '../../common/errors.ts';

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** Parses `argv` against `options`; unknown flags are an error naming the flag. */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InputError(`flowtrail ${command}: ${(err as Error).message}`);
  }
}

/** Parses a positive integer flag value. */
export function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InputError(`--${flag} must be a positive integer, got "${value}"`, flag);
  return n;
}
