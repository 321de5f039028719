/**
 * Tenant and account resolution from Nomad metadata: group meta over job meta over namespace
 * meta (most specific wins, as netreap merges group meta over job meta into labels). The keys
 * come from the tenancy config. Job meta is cached from Job events and allocation reads,
 * because allocation events arrive without their job.
 * @module
 */
import type { TenancyConfig } from '../../../common/config/tenancy.ts';
import type { NomadJob, NomadNamespace } from '../nomad/types.ts';

/** A tenant and account pair; empty strings when unknown. */
export interface Tenancy {
  tenant: string;
  account: string;
}

/** What the resolver needs to know about an allocation. */
export interface TenancyInput {
  namespace: string;
  jobId: string;
  group: string;
  /** Job meta embedded in a full allocation read (the version the allocation runs). */
  jobMeta?: Readonly<Record<string, string>> | undefined;
  groupMeta?: Readonly<Record<string, string>> | undefined;
}

/** Caches namespace and job meta and resolves tenancy from it. */
export interface TenancyResolver {
  setNamespace(ns: NomadNamespace): void;
  setJob(job: NomadJob): void;
  /** Whether job meta is known for this job (from an event, a read or an allocation). */
  knowsJob(namespace: string, jobId: string): boolean;
  namespaceTenancy(namespace: string): Tenancy | undefined;
  resolve(input: TenancyInput): Tenancy;
}

/** Creates a resolver for the configured meta keys. */
export function createTenancyResolver(config: TenancyConfig): TenancyResolver {
  const namespaces = new Map<string, Tenancy>();
  const jobs = new Map<string, NomadJob>();
  const jobKey = (ns: string, id: string) => `${ns}\u0000${id}`;

  return {
    setNamespace(ns) {
      const t = {
        tenant: ns.meta[config.namespaceMeta.tenant] ?? '',
        account: ns.meta[config.namespaceMeta.account] ?? '',
      };
      if (t.tenant || t.account) namespaces.set(ns.name, t);
      else namespaces.delete(ns.name);
    },
    setJob(job) {
      const prev = jobs.get(jobKey(job.namespace, job.id));
      if (!prev || job.modifyIndex >= prev.modifyIndex) jobs.set(jobKey(job.namespace, job.id), job);
    },
    knowsJob(namespace, jobId) {
      return jobs.has(jobKey(namespace, jobId));
    },
    namespaceTenancy(namespace) {
      return namespaces.get(namespace);
    },
    resolve(input) {
      const job = jobs.get(jobKey(input.namespace, input.jobId));
      const jobMeta = input.jobMeta ?? job?.meta ?? {};
      const groupMeta = input.groupMeta ?? job?.groupMeta[input.group] ?? {};
      const ns = namespaces.get(input.namespace);
      return {
        tenant: groupMeta[config.groupMeta.tenant] || jobMeta[config.jobMeta.tenant] || ns?.tenant || '',
        account: groupMeta[config.groupMeta.account] || jobMeta[config.jobMeta.account] || ns?.account || '',
      };
    },
  };
}
