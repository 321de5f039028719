import { describe, expect, it } from 'vitest';
import { DropReason, TraceObservationPoint, Verdict } from '../gen/flow/flow.js';
import { enumName, enumValue, isKnownEnumValue } from './enums.js';

describe('proto > enums', () => {
  it.each([
    { description: 'Verdict 2', enumObject: Verdict, value: 2, name: 'DROPPED' },
    { description: 'DropReason 133', enumObject: DropReason, value: 133, name: 'POLICY_DENIED' },
    {
      description: 'TraceObservationPoint 101',
      enumObject: TraceObservationPoint,
      value: 101,
      name: 'TO_ENDPOINT',
    },
    { description: 'an unknown Verdict', enumObject: Verdict, value: 42, name: '42' },
  ])('$description ↔ $name', ({ enumObject, value, name }) => {
    expect(enumName(enumObject, value)).toBe(name);
    expect(enumValue(enumObject, name)).toBe(value);
  });

  it('says which values the schema knows', () => {
    expect(isKnownEnumValue(Verdict, Verdict.TRANSLATED)).toBe(true);
    expect(isKnownEnumValue(Verdict, 42)).toBe(false);
    expect(enumValue(Verdict, 'MAYBE')).toBeUndefined();
    expect(enumValue(Verdict, 'toString')).toBeUndefined();
  });
});
