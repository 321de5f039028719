/**
 * GetFlowsRequest field masks: only the listed paths of `flow.Flow` are copied into the answer
 * (`source.identity` copies one field of the source endpoint, `l4` the whole sub-message), as
 * Cilium's server does. Paths are checked against the schema once per request; an unknown path
 * is an InputError (INVALID_ARGUMENT).
 * @module
 */
import { InputError } from '../../../common/errors.ts';
import * as flowPb from '../../../proto/gen/flow/flow.ts';
import { messageSchemas } from '../../../proto/gen/schema.ts';

/** A compiled mask: `true` copies a field whole, a nested mask copies some of its fields. */
export interface MaskTree {
  [field: string]: true | MaskTree;
}

type Creatable = { create(): Record<string, unknown> };

function creatorOf(typeName: string): Creatable | undefined {
  const simple = typeName.startsWith('flow.') ? typeName.slice(5).replace(/\./g, '_') : undefined;
  const fns = simple ? (flowPb as unknown as Record<string, Creatable | undefined>)[simple] : undefined;
  return fns && typeof fns.create === 'function' ? fns : undefined;
}

/** Compiles mask paths for `flow.Flow`; an empty list means "no mask". */
export function compileFieldMask(paths: readonly string[]): MaskTree | undefined {
  if (paths.length === 0) return undefined;
  const root: MaskTree = {};
  for (const path of paths) {
    let type = 'flow.Flow';
    let node = root;
    const parts = path.split('.');
    parts.forEach((part, i) => {
      const field = messageSchemas[type]?.find((f) => f.name === part);
      if (!field) throw new InputError(`field_mask: unknown path "${path.slice(0, 100)}"`, 'field_mask');
      const last = i === parts.length - 1;
      if (last) {
        node[part] = true;
        return;
      }
      if (field.kind !== 'message' || field.repeated || !field.type || !creatorOf(field.type)) {
        throw new InputError(
          `field_mask: cannot descend into "${part}" in "${path.slice(0, 100)}"`,
          'field_mask',
        );
      }
      const next = node[part];
      if (next === true) return;
      node[part] = next ?? {};
      node = node[part] as MaskTree;
      type = field.type;
    });
  }
  return root;
}

function copy(src: Record<string, unknown>, tree: MaskTree, type: string): Record<string, unknown> {
  const out = creatorOf(type)!.create();
  for (const [field, sub] of Object.entries(tree)) {
    const v = src[field];
    if (sub === true) out[field] = v;
    else if (v && typeof v === 'object') {
      const f = messageSchemas[type]!.find((x) => x.name === field)!;
      out[field] = copy(v as Record<string, unknown>, sub, f.type!);
    }
  }
  return out;
}

/** Applies a compiled mask to a Flow. */
export function applyFieldMask(flow: flowPb.Flow, tree: MaskTree | undefined): flowPb.Flow {
  if (!tree) return flow;
  return copy(flow as unknown as Record<string, unknown>, tree, 'flow.Flow') as unknown as flowPb.Flow;
}
