/**
 * Cases: a saved investigation with its working state — status (open, escalated, closed),
 * assignee, linked alert incidents — and notes. Listing filters by "mine" (created by or
 * assigned to the caller), status and tenant. A tenant principal sees only its own tenant's
 * cases. Every change goes through an audited route (http/routes/investigations.ts).
 * @module
 */
import { z } from 'zod';
import { type CaseNote, type CaseState, type CaseSummary, caseStatuses } from '../../../common/case.ts';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import type { Principal } from '../auth/principal.ts';
import { SqlParams } from '../filters/index.ts';
import { nameValue } from '../filters/parse.ts';

export { type CaseNote, type CaseState, type CaseSummary, caseStatuses };

/** Body of PATCH /api/v1/investigations/{id}. */
export const caseUpdateSchema = z.strictObject({
  status: z.enum(caseStatuses).optional().describe('open, escalated or closed.'),
  assignee: z
    .string()
    .max(128)
    .optional()
    .describe('Token name of the investigator in charge; empty to unassign.'),
  linked_incidents: z
    .array(z.string().min(1).max(128))
    .max(100)
    .optional()
    .describe('Alert incident ids this case covers (replaces the list).'),
});

/** Body of POST /api/v1/investigations/{id}/notes. */
export const caseNoteSchema = z.strictObject({
  text: z.string().min(1, 'expected a non-empty note').max(10_000).describe('The note.'),
});

/** Query parameters of GET /api/v1/cases. */
export const caseListParams = {
  mine: z.enum(['true', 'false']).describe('Only cases created by or assigned to the caller.'),
  status: z.enum(caseStatuses).describe('Only cases with this status.'),
  tenant: nameValue.describe('Only cases naming this tenant among their accounts.'),
} as const;

const fmt = (col: string) => `formatDateTime(${col}, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')`;
const nowSql = 'now64(9)';

/** The state of one case (defaults when never changed). */
export async function caseState(
  deps: { store: Store; settings: QuerySettings },
  id: string,
): Promise<CaseState> {
  const p = new SqlParams();
  const rows = await deps.store.query<CaseState>(
    `SELECT toString(status) AS status, assignee, linked_incidents, ${fmt('updated_at')} AS updated_at, updated_by
     FROM case_state FINAL WHERE id = ${p.bind(id, 'String')} LIMIT 1`,
    { params: p.values, settings: deps.settings },
  );
  return rows[0] ?? { status: 'open', assignee: '', linked_incidents: [], updated_at: null, updated_by: '' };
}

/** Applies an update to a case's state; returns the new state. */
export async function updateCase(
  deps: { store: Store; settings: QuerySettings },
  id: string,
  update: z.infer<typeof caseUpdateSchema>,
  principal: Principal,
): Promise<CaseState> {
  const cur = await caseState(deps, id);
  const next = {
    status: update.status ?? cur.status,
    assignee: update.assignee ?? cur.assignee,
    linked_incidents: update.linked_incidents ?? cur.linked_incidents,
  };
  const p = new SqlParams();
  await deps.store.command(
    `INSERT INTO case_state (id, updated_at, updated_by, status, assignee, linked_incidents)
     SELECT ${p.bind(id, 'String')}, ${nowSql}, ${p.bind(principal.name, 'String')}, ${p.bind(next.status, 'String')},
       ${p.bind(next.assignee, 'String')}, ${p.bind(next.linked_incidents, 'Array(String)')}`,
    { params: p.values },
  );
  return caseState(deps, id);
}

/** Adds a note to a case. */
export async function addCaseNote(
  deps: { store: Store; settings: QuerySettings },
  id: string,
  text: string,
  principal: Principal,
): Promise<void> {
  const p = new SqlParams();
  await deps.store.command(
    `INSERT INTO case_notes (case_id, at, author, text)
     SELECT ${p.bind(id, 'String')}, ${nowSql}, ${p.bind(principal.name, 'String')}, ${p.bind(text, 'String')}`,
    { params: p.values },
  );
}

/** The notes of a case, oldest first. */
export async function caseNotes(
  deps: { store: Store; settings: QuerySettings },
  id: string,
): Promise<CaseNote[]> {
  const p = new SqlParams();
  return deps.store.query<CaseNote>(
    `SELECT ${fmt('at')} AS at, author, text FROM case_notes WHERE case_id = ${p.bind(id, 'String')} ORDER BY at`,
    { params: p.values, settings: deps.settings },
  );
}

/** Lists cases visible to `principal`, newest first. */
export async function listCases(
  deps: { store: Store; settings: QuerySettings },
  filters: { mine?: boolean; status?: string; tenant?: string },
  principal: Principal,
  limit = 500,
): Promise<CaseSummary[]> {
  const p = new SqlParams();
  const where: string[] = [];
  if (principal.role === 'tenant') where.push(`i.tenant = ${p.bind(principal.tenant ?? '', 'String')}`);
  if (filters.mine) {
    const me = p.bind(principal.name, 'String');
    where.push(`(i.created_by = ${me} OR s.assignee = ${me})`);
  }
  if (filters.status)
    where.push(`if(s.id = '', 'open', toString(s.status)) = ${p.bind(filters.status, 'String')}`);
  if (filters.tenant) where.push(`has(tenants, ${p.bind(filters.tenant, 'String')})`);
  const rows = await deps.store.query<{
    id: string;
    created_at: string;
    created_by: string;
    request: string;
    tenants: string[];
    top: [string, string][];
    state_id: string;
    status: string;
    assignee: string;
    linked_incidents: string[];
    updated_at: string;
    updated_by: string;
    notes: string;
  }>(
    `SELECT i.id AS id, ${fmt('i.created_at')} AS created_at, i.created_by AS created_by, i.request AS request,
       JSONExtract(i.result, 'accounts', 'Array(Tuple(tenant String, account String))') AS accts,
       arrayFilter(t -> t != '', arrayDistinct(arrayMap(a -> tupleElement(a, 1), accts))) AS tenants,
       arrayMap(a -> [tupleElement(a, 1), tupleElement(a, 2)], arraySlice(accts, 1, 1)) AS top,
       s.id AS state_id, toString(s.status) AS status, s.assignee AS assignee, s.linked_incidents AS linked_incidents,
       ${fmt('s.updated_at')} AS updated_at, s.updated_by AS updated_by,
       n.notes AS notes
     FROM (SELECT * FROM investigations FINAL) AS i
     LEFT JOIN (SELECT * FROM case_state FINAL) AS s ON s.id = i.id
     LEFT JOIN (SELECT case_id, count() AS notes FROM case_notes GROUP BY case_id) AS n ON n.case_id = i.id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY i.created_at DESC LIMIT ${limit}`,
    { params: p.values, settings: deps.settings },
  );
  return rows.map((r) => ({
    id: r.id,
    created_at: r.created_at,
    created_by: r.created_by,
    request: JSON.parse(r.request) as unknown,
    tenants: r.tenants,
    top_account: r.top[0] ? { tenant: r.top[0][0], account: r.top[0][1] } : null,
    status: (r.state_id ? r.status : 'open') as CaseState['status'],
    assignee: r.state_id ? r.assignee : '',
    linked_incidents: r.state_id ? r.linked_incidents : [],
    updated_at: r.state_id ? r.updated_at : null,
    updated_by: r.state_id ? r.updated_by : '',
    notes: Number(r.notes),
  }));
}
