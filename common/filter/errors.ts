/**
 * @module The error a bad FlowFilter raises at compile time. Servers map it to gRPC INVALID_ARGUMENT
 * (as Hubble does), HTTP APIs to 400; it is never retried.
 */
import { InputError } from '../errors.ts';

/** A FlowFilter field holds a value the matcher cannot use (bad CIDR, bad regex, unsupported field…). */
export class FlowFilterError extends InputError {
  /** The FlowFilter field at fault, e.g. `source_ip`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid flow filter: ${field}: ${message}`, field);
    this.field = field;
  }
}
