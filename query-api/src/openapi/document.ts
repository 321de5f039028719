/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas that validate
 * requests (z.toJSONSchema), so the document cannot drift from what the server accepts.
 * @module
 */
import { z } from 'zod';
import { FILTER_ALIASES, FILTER_WORDS, type FilterWord } from '../../../common/filter/index.ts';
import { flowControlParams } from '../filters/index.ts';
import { attributionParams } from '../http/routes/attribution.ts';
import { auditParams } from '../http/routes/audit.ts';
import { exportParams } from '../http/routes/investigations.ts';
import { activityParams } from '../queries/activity.ts';
import { caseListParams, caseNoteSchema, caseUpdateSchema } from '../queries/cases.ts';
import { sourceParam } from '../queries/dashboard-query.ts';
import { summaryParams, timeseriesParams, topologyParams, topParams } from '../queries/dashboards.ts';
import { investigationRequestSchema } from '../queries/investigations.ts';
import { visualizeParams } from '../queries/visualize.ts';

type JsonSchema = Record<string, unknown>;

function schemaOf(s: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

function queryParams(params: Record<string, z.ZodType>, repeated = false): JsonSchema[] {
  return Object.entries(params).map(([name, s]) => {
    const schema = schemaOf(s);
    const description = (schema['description'] as string | undefined) ?? s.description;
    return {
      name,
      in: 'query',
      required: false,
      ...(description ? { description } : {}),
      schema: repeated ? { type: 'array', items: schema } : schema,
      ...(repeated ? { style: 'form', explode: true } : {}),
    };
  });
}

/**
 * How the REST filter words relate to `hubble observe`'s, said once for every endpoint taking them.
 * REST deliberately differs only where noted here.
 */
const filterLanguageNote =
  "Filters use hubble observe's words with Hubble's meaning (the same FlowFilters the CLI would send: " +
  'repeat a parameter to OR values; different parameters are ANDed, the either-end ones on the same end, ' +
  'as the CLI does). Differences from the CLI, by design: `not-<word>=v` stands for `--not --<word> v` ' +
  '(query parameters have no order, so negations apply after all positive words); `node` and ' +
  '`drop-reason` are accepted as older spellings of `node-name` and `drop-reason-desc` (the latter also ' +
  'takes numbers); switches (`encrypted`, `ipv4`…) take `true` or no value; `dns-query`, `tenant`, ' +
  '`account`, `job`, `alloc` and `scope` have no hubble flag (`dns-query` is the FlowFilter field ' +
  '`dns_query`; the others select on Flowtrail attribution of either end, and `not-tenant=x` leaves out ' +
  'every flow with an end owned by x; their `from-`/`to-` forms, e.g. `from-account` or `to-scope`, select ' +
  'on the source or the destination only, `not-from-account=y` leaving out flows whose source y owns). For a ' +
  "tenant token, filters on attributes the answer hides for another tenant's end (pod, namespace, " +
  "service, workload, non-reserved labels, owner fields) match the caller's own ends only.";

const flowFilterParams = () => [
  ...Object.entries(FILTER_WORDS).map(([name, w]) => {
    const word = w as FilterWord;
    return {
      name,
      in: 'query',
      required: false,
      description: `${word.doc}${word.flowtrail ? ' (Flowtrail; no hubble flag.)' : ''}`,
      schema: word.flag
        ? { type: 'array', items: { type: 'string', enum: ['true', ''] } }
        : { type: 'array', items: { type: 'string' } },
      style: 'form',
      explode: true,
    };
  }),
  ...Object.entries(FILTER_ALIASES).map(([name, to]) => ({
    name,
    in: 'query',
    required: false,
    description: `Older spelling of \`${to}\`.`,
    schema: { type: 'array', items: { type: 'string' } },
    style: 'form',
    explode: true,
  })),
];

const rangeParams = () => queryParams({ since: flowControlParams.since, until: flowControlParams.until });

const errorResponse = {
  description:
    'Error: 400 invalid parameter (names it), 401 no/unknown token, 403 role, 413/503 a limit was hit.',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: {
              status: { type: 'integer' },
              message: { type: 'string' },
              param: { type: 'string' },
            },
            required: ['status', 'message'],
          },
        },
      },
    },
  },
};

const ok = (description: string, type = 'application/json') => ({
  '200': { description, content: { [type]: { schema: { type: 'object' } } } },
  default: errorResponse,
});

const incidentId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const noteBody = {
  required: false,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { note: { type: 'string', maxLength: 2000 } },
        additionalProperties: false,
      },
    },
  },
};

/** Builds the document. */
export function openApiDocument(): JsonSchema {
  const aggregate = (extra: Record<string, z.ZodType>) => [
    ...flowFilterParams(),
    ...rangeParams(),
    ...queryParams({ source: sourceParam, ...extra }),
  ];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flowtrail API',
      version: '1',
      description:
        'Stored Cilium Hubble flows with the Nomad owner of each end. Flows are events, not byte counts. ' +
        'Repeated values of one filter are ORed, different filters ANDed.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/api/v1/flows': {
        get: {
          summary: 'Stored flows (JSON page, streamed NDJSON of Hubble JSON lines plus attribution, or CSV).',
          description: filterLanguageNote,
          parameters: [...flowFilterParams(), ...queryParams(flowControlParams)],
          responses: {
            '200': {
              description: 'Flows',
              content: {
                'application/json': { schema: { type: 'object' } },
                'application/x-ndjson': { schema: { type: 'string' } },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            default: errorResponse,
          },
        },
      },
      '/api/v1/attribution': {
        get: {
          summary: 'Who owned an address at an instant.',
          parameters: queryParams(attributionParams),
          responses: ok('Owner, previous and next'),
        },
      },
      '/api/v1/investigations': {
        post: {
          summary:
            'Run and save an abuse-report investigation: the accounts behind OUR end of the matching flows, ranked.',
          description:
            'Give our side (`indicator`: address, CIDR or post-SNAT egress address), their side (`remote`), or both; ' +
            'optionally `port` and `protocol`; and `since`/`until` or `at` ± `tolerance` seconds. Our side matches ' +
            '`source_xlated` when the flow was SNATed. When the indicator lies outside our address space (a victim, ' +
            'a remote scanner), the other end is attributed (`indicator_side: outside`). `accounts` are in rank ' +
            'order: full matches of every given field first, then closeness to `at`, then volume; each lists its ' +
            '`allocations`, `attributed_end`, `source` and `conflicts`.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(investigationRequestSchema) } },
          },
          responses: { '201': { description: 'The saved case' }, default: errorResponse },
        },
      },
      '/api/v1/reports': {
        post: {
          summary:
            'Open a prefilled case from an abuse report: X-ARF (JSON or YAML) or ARF (RFC 5965 email).',
          description:
            'The body is the report as received. X-ARF: `Source` (or `Report.SourceIp`) is our side, ' +
            '`Destination`/`Target` (or `Report.DestinationIp`) theirs, `Port`, `Date`, `Category`/`Report-Type`; ' +
            'an X-ARF email (report as a YAML/JSON part) is read too. ARF: a multipart/report email whose ' +
            'message/feedback-report part gives `Source-IP` (ours) and `Arrival-Date`; port 25/tcp. The case is ' +
            'investigated at the reported time ± 300 s (as POST /api/v1/investigations) and the report is kept ' +
            'verbatim with it (GET /api/v1/investigations/{id}: `case.reports`). A malformed report is a 400 naming ' +
            'the field, e.g. `Source: not an IP address: "abc"`.',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'object', description: 'An X-ARF report.' } },
              'application/yaml': { schema: { type: 'string', description: 'An X-ARF report.' } },
              'message/rfc822': { schema: { type: 'string', description: 'An ARF or X-ARF email.' } },
              'text/plain': { schema: { type: 'string', description: 'Any of the above.' } },
            },
          },
          responses: {
            '201': { description: 'The opened case, with `report` (what was read from it)' },
            default: errorResponse,
          },
        },
      },
      '/api/v1/investigations/{id}': {
        get: {
          summary: 'A saved investigation, with its case state and notes.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          responses: ok('The case'),
        },
        patch: {
          summary: 'Change a case: status (open, escalated, closed), assignee, linked incidents (audited).',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(caseUpdateSchema) } },
          },
          responses: ok('The new state'),
        },
      },
      '/api/v1/investigations/{id}/export': {
        get: {
          summary: 'Download a saved investigation.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            ...queryParams(exportParams),
          ],
          responses: ok('The case as JSON or CSV'),
        },
      },
      '/api/v1/cases': {
        get: {
          summary: 'Saved cases with their status, assignee, linked incidents and note count, newest first.',
          parameters: queryParams(caseListParams),
          responses: ok('Cases'),
        },
      },
      '/api/v1/investigations/{id}/notes': {
        post: {
          summary: 'Add a note to a case (audited).',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(caseNoteSchema) } },
          },
          responses: { '201': { description: 'The notes' }, default: errorResponse },
        },
      },
      '/api/v1/investigations/{id}/evidence': {
        get: {
          summary: 'Download the signed evidence bundle of a case (a tar).',
          description:
            'case.json (request, creator, created/exported times, software version, ranked accounts, the ownership ' +
            'intervals relied on with their sources), flows.ndjson and flows.csv (the fully matching flows), ' +
            'report-N.txt (an abuse report that opened the case, verbatim), manifest.json (SHA-256 and size of every file) and manifest.sig.json (HMAC-SHA256 or Ed25519 over the ' +
            "manifest's bytes, key from api.evidence in the config). Check it with `flowtrail evidence verify FILE`. " +
            '503 when no signing key is configured.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          ],
          responses: {
            '200': { description: 'The bundle', content: { 'application/x-tar': {} } },
            default: errorResponse,
          },
        },
      },
      '/api/v1/activity': {
        get: {
          summary:
            "One owner's peers over a window: what else did this allocation, account or tenant talk to.",
          description:
            'Give exactly one of `alloc`, `account` or `tenant`, and `since`/`until`. Peers are aggregated by ' +
            'direction (out: the owner sent), remote address and owner, destination port and protocol, with flow ' +
            'event counts, verdicts and first/last seen. Hubble flows carry no byte counts, so `bytes` is null.',
          parameters: [
            ...queryParams(activityParams),
            ...queryParams({
              since: z.string().describe('Start of the window (RFC 3339, epoch ns, or relative).'),
              until: z.string().describe('End of the window (default now).'),
            }),
          ],
          responses: ok('Peers'),
        },
      },
      '/api/v1/tenants/{tenant}/summary': {
        get: {
          summary: "A tenant's activity over the range.",
          parameters: [
            { name: 'tenant', in: 'path', required: true, schema: { type: 'string' } },
            ...aggregate(summaryParams),
          ],
          responses: ok('Summary'),
        },
      },
      '/api/v1/timeseries': {
        get: {
          summary: 'Flow counts over time by a dimension.',
          parameters: aggregate(timeseriesParams),
          responses: ok('Points'),
        },
      },
      '/api/v1/top': {
        get: {
          summary: 'Top sources, destinations, ports or tenants.',
          parameters: aggregate(topParams),
          responses: ok('Items'),
        },
      },
      '/api/v1/visualize': {
        get: {
          summary:
            'Flow events grouped by up to three dimensions: the top N groups over the range, their counts per step, and the totals per step.',
          parameters: aggregate(visualizeParams),
          responses: ok(
            'source (rollup or flows), dimensions, step_seconds, top [{key, flows, drops}], points [{time, key, flows}], totals [{time, flows}]',
          ),
        },
      },
      '/api/v1/topology': {
        get: {
          summary: 'Edges between owners and peers.',
          parameters: aggregate(topologyParams),
          responses: ok(
            'Nodes `{id, kind, name?}` (`name`: the DNS name a world address was looked up by, when flows recorded one) and edges',
          ),
        },
      },
      '/api/v1/whoami': {
        get: { summary: 'The caller: token name, role and tenant.', responses: ok('Principal') },
      },
      '/api/v1/audit': {
        get: {
          summary: 'Audit log (admins).',
          parameters: queryParams(auditParams),
          responses: ok('Entries'),
        },
      },
      '/api/v1/status': {
        get: {
          summary:
            'Collector targets, ownership sync and demo state (api.ops roles, admin and sre by default).',
          responses: ok('Status'),
        },
      },
      '/api/v1/alerts/rules': {
        get: {
          summary:
            'Every alert rule with its thresholds, enabled or not (tenant tokens see no allowlists or custom-rule filters).',
          responses: ok('{rules: [{id, kind, enabled, severity, description, window_seconds, thresholds}]}'),
        },
      },
      '/api/v1/alerts/incidents': {
        get: {
          summary: 'Incidents, newest first (a tenant token sees only its own tenant).',
          parameters: queryParams({
            status: z.string().describe('open, acknowledged, resolved (comma-separated or repeated).'),
            rule: z.string().describe('Rule id (comma-separated or repeated).'),
            tenant: z.string().describe('Owner tenant.'),
            account: z.string().describe('Owner account.'),
            alloc: z.string().describe('Owner allocation id.'),
            since: z.string().describe('Last seen at or after (RFC 3339, epoch ns, or relative).'),
            until: z.string().describe('First seen before.'),
            limit: z.string().describe('1 to 10000 (default 100).'),
            offset: z.string().describe('Matching incidents to skip, 0 to 1000000 (paging; default 0).'),
            group: z.enum(['rule', 'tenant', 'account']).describe('Also count every group of the matches.'),
          }),
          responses: ok('{incidents: [...], total, offset, limit, groups?: [{key, count, open, events}]}'),
        },
      },
      '/api/v1/alerts/incidents/{id}': {
        get: { summary: 'One incident.', parameters: [incidentId], responses: ok('The incident') },
      },
      '/api/v1/alerts/incidents/{id}/ack': {
        post: {
          summary: 'Acknowledge an incident (not tenant tokens); body `{"note": "…"}` optional.',
          parameters: [incidentId],
          requestBody: noteBody,
          responses: ok('The incident'),
        },
      },
      '/api/v1/alerts/incidents/{id}/resolve': {
        post: {
          summary: 'Resolve an incident (not tenant tokens); body `{"note": "…"}` optional.',
          parameters: [incidentId],
          requestBody: noteBody,
          responses: ok('The incident'),
        },
      },
      '/api/v1/alerts/deliveries': {
        get: {
          summary: 'The webhook delivery log (not tenant tokens).',
          parameters: queryParams({
            incident: z.string().describe('Incident id.'),
            rule: z.string().describe('Rule id.'),
            limit: z.string().describe('1 to 10000 (default 100).'),
          }),
          responses: ok('{deliveries: [...]}'),
        },
      },
      '/healthz': { get: { summary: 'Liveness.', security: [], responses: ok('ok') } },
      '/readyz': {
        get: {
          summary: 'Readiness (ClickHouse answers, schema present).',
          security: [],
          responses: ok('ready'),
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (api.ops roles, admin and sre by default; or open).',
          responses: ok('metrics', 'text/plain'),
        },
      },
    },
  };
}
