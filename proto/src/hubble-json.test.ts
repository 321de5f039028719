/**
 * The Hubble JSON codec on synthetic lines: the golden strings from Cilium's own tests, the protojson
 * rules real captures do not exercise, and the error messages.
 */
import { describe, expect, it } from 'vitest';
import { Flow } from '../gen/flow/flow.js';
import type { GetFlowsRequest } from '../gen/observer/observer.js';
import {
  hubbleEventKind,
  messageFromJson,
  messageToJson,
  parseHubbleJson,
  toHubbleJson,
  toHubbleJsonLine,
} from './hubble-json.js';
import { HubbleJsonError } from './json-error.js';

describe('proto > hubble-json', () => {
  it.each([
    {
      description: 'hubble printer_test "jsonpb": DROPPED flow, is_reply false, no wrapper time',
      line: '{"flow":{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}}',
      kind: 'flow',
    },
    {
      description: 'ip_trace_id: uint64 as a string, uint32 as a number',
      line: '{"flow":{"ip_trace_id":{"trace_id":"1234","ip_option_type":136}}}',
      kind: 'flow',
    },
    {
      description: 'exporter flow line',
      line: '{"flow":{"time":"1970-01-01T00:00:01Z","node_name":"my-node"},"node_name":"my-node","time":"1970-01-01T00:00:01Z"}',
      kind: 'flow',
    },
    {
      description: 'exporter agent_event line',
      line: '{"agent_event":{},"node_name":"my-node","time":"1970-01-01T00:00:02Z"}',
      kind: 'agent_event',
    },
    {
      description: 'exporter debug_event line',
      line: '{"debug_event":{"type":"DBG_CT_LOOKUP4","hash":0,"message":"x","cpu":-1},"node_name":"n"}',
      kind: 'debug_event',
    },
    {
      description: 'agent event with a oneof notification and int64 rule_count',
      line: '{"agent_event":{"type":"POLICY_UPDATED","policy_update":{"labels":["k8s:a=b"],"revision":"7","rule_count":"-1"}}}',
      kind: 'agent_event',
    },
    {
      description: 'lost events: enum name, uint64 string, Int32Value, timestamps',
      line: '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"18446744073709551615","cpu":0,"first":"2024-01-01T10:00:00Z","last":"2024-01-01T10:00:00.123Z"},"node_name":"n","time":"2024-01-01T10:00:00.000001Z"}',
      kind: 'lost_events',
    },
    {
      description: 'relay node status',
      line: '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["a","b"],"message":"gone"}}',
      kind: 'node_status',
    },
    {
      description: 'dropped flow with policies, SNAT address and an empty ICMPv4 (echo reply)',
      line: '{"flow":{"verdict":"DROPPED","IP":{"source":"10.0.0.1","source_xlated":"198.51.100.7","destination":"203.0.113.5","ipVersion":"IPv4","encrypted":true},"l4":{"ICMPv4":{}},"source":{},"drop_reason_desc":"POLICY_DENY","egress_denied_by":[{"name":"deny-all","labels":["k8s:a=b"],"revision":"9","kind":"CiliumNetworkPolicy"}],"policy_log":[""]}}',
      kind: 'flow',
    },
    {
      description: 'enum numbers the schema does not know are kept as bare integers',
      line: '{"flow":{"verdict":42,"drop_reason_desc":999}}',
      kind: 'flow',
    },
    {
      description: 'Go escapes <, > and & in strings',
      line: '{"flow":{"Summary":"HTTP/1.1 GET http://a/?x=\\u003cb\\u003e\\u0026c"}}',
      kind: 'flow',
    },
  ])('$description round-trips to the same text', ({ line, kind }) => {
    const event = parseHubbleJson(line, { ignoreUnknownFields: false });
    expect(hubbleEventKind(event)).toBe(kind);
    expect(toHubbleJsonLine(event)).toBe(line);
  });

  it('reads a DROPPED line into typed fields', () => {
    const event = parseHubbleJson(
      '{"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"DROPPED","l4":{"TCP":{"flags":{"SYN":true}}},"is_reply":false,"socket_cookie":"18446744073709551615"}}',
    );
    expect(event.flow?.time).toEqual({ seconds: 1692619938n, nanos: 510175415 });
    expect(event.flow?.verdict).toBe(2);
    expect(event.flow?.l4?.TCP?.flags?.SYN).toBe(true);
    expect(event.flow?.is_reply).toBe(false);
    expect(event.flow?.socket_cookie).toBe(18446744073709551615n);
    expect(event.flow).toStrictEqual(Flow.decode(Flow.encode(event.flow!).finish()));
  });

  it.each([
    {
      description: 'lowerCamel names are accepted and written back as proto names',
      input:
        '{"flow":{"nodeName":"n","isReply":true,"dropReasonDesc":"POLICY_DENIED","sourceNames":["a."]},"nodeName":"n"}',
      expected:
        '{"flow":{"node_name":"n","source_names":["a."],"drop_reason_desc":"POLICY_DENIED","is_reply":true},"node_name":"n"}',
    },
    {
      description: 'keys are written in declaration order, whatever the input order',
      input:
        '{"time":"2024-01-01T00:00:00Z","node_name":"n","flow":{"Summary":"s","time":"2024-01-01T00:00:00Z"}}',
      expected:
        '{"flow":{"time":"2024-01-01T00:00:00Z","Summary":"s"},"node_name":"n","time":"2024-01-01T00:00:00Z"}',
    },
    {
      description: 'enum numbers the schema knows are written as names',
      input: '{"flow":{"verdict":2,"Type":1}}',
      expected: '{"flow":{"verdict":"DROPPED","Type":"L3_L4"}}',
    },
    {
      description: 'zero values and null are omitted',
      input:
        '{"flow":{"verdict":"VERDICT_UNKNOWN","uuid":"","reply":false,"node_labels":[],"socket_cookie":"0","l7":null}}',
      expected: '{"flow":{}}',
    },
    {
      description: 'timestamps are normalised to UTC with 0, 3, 6 or 9 digits',
      input: '{"flow":{"time":"2024-01-01T12:00:00.5+02:00"},"time":"2024-01-01T10:00:00.000000000Z"}',
      expected: '{"flow":{"time":"2024-01-01T10:00:00.500Z"},"time":"2024-01-01T10:00:00Z"}',
    },
    {
      description: '64-bit integers given as JSON numbers are written as strings',
      input: '{"flow":{"l7":{"latency_ns":2721758}}}',
      expected: '{"flow":{"l7":{"latency_ns":"2721758"}}}',
    },
    {
      description: 'unknown keys and enum names are skipped by default',
      input: '{"flow":{"verdict":"MAYBE","new_field":{"x":1},"node_name":"n"},"extra":1}',
      expected: '{"flow":{"node_name":"n"}}',
    },
  ])('$description', ({ input, expected }) => {
    expect(toHubbleJsonLine(parseHubbleJson(input))).toBe(expected);
  });

  it.each([
    { description: 'not JSON', input: '{"flow":', path: '', reason: /^invalid JSON/ },
    {
      description: 'not an object',
      input: '[]',
      path: '',
      reason: /observer.ExportEvent must be a JSON object, got an array/,
    },
    {
      description: 'bad timestamp',
      input: '{"flow":{"time":"yesterday"}}',
      path: 'flow.time',
      reason: /RFC 3339/,
    },
    {
      description: 'impossible date',
      input: '{"time":"2023-02-29T00:00:00Z"}',
      path: 'time',
      reason: /no such date/,
    },
    {
      description: 'negative port',
      input: '{"flow":{"l4":{"TCP":{"source_port":-1}}}}',
      path: 'flow.l4.TCP.source_port',
      reason: /-1 is out of range for uint32/,
    },
    {
      description: 'port given as a fraction',
      input: '{"flow":{"l4":{"UDP":{"destination_port":53.5}}}}',
      path: 'flow.l4.UDP.destination_port',
      reason: /must be an integer/,
    },
    {
      description: 'unknown enum name, strict',
      input: '{"flow":{"verdict":"MAYBE"}}',
      path: 'flow.verdict',
      reason: /unknown flow.Verdict value "MAYBE"/,
    },
    {
      description: 'unknown key, strict',
      input: '{"flow":{"bogus":1}}',
      path: 'flow.bogus',
      reason: /unknown field of flow.Flow/,
    },
    {
      description: 'two members of one oneof',
      input: '{"flow":{"l4":{"TCP":{},"UDP":{}}}}',
      path: 'flow.l4.UDP',
      reason: /oneof protocol is already set by "TCP"/,
    },
    {
      description: 'flow and agent_event in one line',
      input: '{"flow":{},"agent_event":{}}',
      path: 'agent_event',
      reason: /oneof response_types/,
    },
    {
      description: 'one field under both names',
      input: '{"flow":{"node_name":"a","nodeName":"b"}}',
      path: 'flow.nodeName',
      reason: /given twice/,
    },
    {
      description: 'a list where a string list is expected',
      input: '{"flow":{"source":{"labels":"k8s:app=x"}}}',
      path: 'flow.source.labels',
      reason: /must be a JSON array, got string/,
    },
    {
      description: 'a number inside a string list',
      input: '{"flow":{"source":{"labels":["a",7]}}}',
      path: 'flow.source.labels[1]',
      reason: /string expected, got number/,
    },
    {
      description: 'uint64 that is not a number',
      input: '{"flow":{"socket_cookie":"12x"}}',
      path: 'flow.socket_cookie',
      reason: /decimal integer/,
    },
    {
      description: 'uint64 that lost precision as a JSON number',
      input: '{"flow":{"socket_cookie":18446744073709551615}}',
      path: 'flow.socket_cookie',
      reason: /lost precision/,
    },
    {
      description: 'BoolValue that is not a bool',
      input: '{"flow":{"is_reply":"yes"}}',
      path: 'flow.is_reply',
      reason: /bool must be true or false/,
    },
    {
      description: 'Any of an unregistered type',
      input: '{"flow":{"extensions":{"@type":"type.googleapis.com/acme.Thing"}}}',
      path: 'flow.extensions',
      reason: /not registered/,
    },
  ])('rejects $description with the field and the reason', ({ input, path, reason }) => {
    let error: unknown;
    try {
      parseHubbleJson(input, { ignoreUnknownFields: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubbleJsonError);
    expect((error as HubbleJsonError).path).toBe(path);
    expect((error as HubbleJsonError).reason).toMatch(reason);
    expect((error as HubbleJsonError).message).toBe(
      path ? `${path}: ${(error as HubbleJsonError).reason}` : (error as HubbleJsonError).reason,
    );
  });

  it('refuses to write an invalid timestamp, naming the field', () => {
    const flow = Flow.fromPartial({ time: { seconds: 1n, nanos: 1_000_000_000 } });
    expect(() => toHubbleJson({ flow, node_name: '' })).toThrow(/^flow\.time: invalid Timestamp: nanos/);
  });

  it('reads and writes a GetFlowsRequest with 2^64-1, filters and a field mask', () => {
    const json = {
      number: '18446744073709551615',
      whitelist: [{ verdict: ['DROPPED'], source_identity: [1, 2], ip_trace_id: ['18446744073709551615'] }],
      since: '2024-01-01T00:00:00Z',
      field_mask: 'time,source.podName,l4',
      experimental: { field_mask: 'verdict' },
    };
    const request = messageFromJson<GetFlowsRequest>('observer.GetFlowsRequest', json);
    expect(request.number).toBe(18446744073709551615n);
    expect(request.whitelist[0]?.verdict).toEqual([2]);
    expect(request.whitelist[0]?.ip_trace_id).toEqual([18446744073709551615n]);
    expect(request.field_mask).toEqual(['time', 'source.pod_name', 'l4']);
    expect(request.experimental?.field_mask).toEqual(['verdict']);
    expect(messageToJson('observer.GetFlowsRequest', request)).toEqual(json);
  });

  it('refuses a field mask path that protojson cannot write either', () => {
    expect(() => messageToJson('observer.GetFlowsRequest', { field_mask: ['IP'] })).toThrow(
      /^field_mask: FieldMask path "IP" has no reversible JSON form/,
    );
  });

  it('reads and writes Any payloads of registered types', () => {
    const json = {
      node_name: 'outer',
      extensions: { '@type': 'type.googleapis.com/flow.Flow', node_name: 'inner' },
    };
    const anyTypes = { 'flow.Flow': Flow };
    const flow = messageFromJson<Flow>('flow.Flow', json, { anyTypes });
    expect(flow.extensions?.type_url).toBe('type.googleapis.com/flow.Flow');
    expect(Flow.decode(flow.extensions!.value).node_name).toBe('inner');
    const decoded = Flow.decode(Flow.encode(flow).finish());
    expect(decoded).toStrictEqual(flow);
    expect(messageToJson('flow.Flow', decoded, { anyTypes })).toEqual(json);
    expect(() => messageToJson('flow.Flow', flow)).toThrow(/^extensions: .*not registered/);
  });
});
