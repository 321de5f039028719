/**
 * The shapes of a case's working state as `GET /api/v1/investigations/{id}` (`case`) and
 * `GET /api/v1/cases` answer them: declared once here, for the API that writes them and the UI
 * that reads them (pure types and constants, no I/O).
 * @module
 */

/** Case statuses. */
export const caseStatuses = ['open', 'escalated', 'closed'] as const;

/** The working state of a case. */
export interface CaseState {
  status: (typeof caseStatuses)[number];
  assignee: string;
  linked_incidents: string[];
  updated_at: string | null;
  updated_by: string;
}

/** One note. */
export interface CaseNote {
  at: string;
  author: string;
  text: string;
}

/** A report kept with a case, verbatim (what the abuse desk received). */
export interface CaseReport {
  received_at: string;
  received_by: string;
  format: string;
  category: string;
  raw: string;
}

/** A line of the case list. */
export interface CaseSummary extends CaseState {
  id: string;
  created_at: string;
  created_by: string;
  request: unknown;
  tenants: string[];
  top_account: { tenant: string; account: string } | null;
  notes: number;
}
