/** @module Building FlowFilter values (ts-proto types require every repeated field). */
import { FlowFilter } from '../../proto/gen/flow/flow.js';

/** A complete FlowFilter from the fields you set. */
export function flowFilter(partial: Partial<FlowFilter> = {}): FlowFilter {
  return FlowFilter.fromPartial(partial);
}
