/**
 * The Hubble Observer gRPC API over stored flows (`hubble observe --server <host>:4245` works
 * against history), plus the gRPC health service answering SERVING for
 * `hubble.server.Observer`. Authentication is the HTTP API's: metadata
 * `authorization: Bearer <token>` (or Basic `name:token`, the only credential the stock CLI
 * sends), the same roles, the same tenant scope in SQL, and GetFlows calls are audited.
 * @module
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { FlowtrailError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import {
  HealthCheckResponse_ServingStatus,
  type HealthServer,
  HealthService,
  type ObserverServer,
  ObserverService,
} from '../../../proto/src/grpc.ts';
import { authorize, type Principal } from '../auth/principal.ts';
import type { QueryCore } from '../core.ts';
import type { ApiDeps } from '../deps.ts';
import { describeError } from '../http/errors.ts';
import { countFilterValues } from '../queries/limits.ts';
import { serveGetFlows } from './get-flows.ts';
import { getNamespaces, getNodes, serverStatus } from './status.ts';
import { type GrpcTlsConfig, grpcServerCredentials, plaintextGrpc } from './tls.ts';

/** The health service name the hubble CLI checks. */
export const observerServiceName = 'hubble.server.Observer';

/** A listening gRPC server. */
export interface GrpcServerHandle {
  /** The bound port (useful when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/** The gRPC server, ready to bind. */
export interface GrpcApi {
  server: grpc.Server;
  /**
   * Binds and starts serving; plaintext unless `tls` says otherwise (see tls.ts: the stock
   * hubble CLI sends Basic credentials over TLS only). Certificate problems reject with a
   * ConfigError naming the variable.
   */
  listen(host: string, port: number, tls?: GrpcTlsConfig): Promise<GrpcServerHandle>;
}

/** HTTP status → gRPC code: the gRPC side of the one error table (describeError). */
const grpcCodeOfStatus: Readonly<Record<number, grpc.status>> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.RESOURCE_EXHAUSTED,
};

/** Maps an error to a gRPC status through the same table as HTTP (http/errors.ts describeError). */
export function grpcStatusOf(err: unknown): { code: grpc.status; details: string } {
  const d = describeError(err);
  const code = grpcCodeOfStatus[d.status];
  if (code !== undefined) return { code, details: d.message };
  // Engine text (ClickHouse codes, settings, SQL) never reaches a client; the log has it.
  if (err instanceof FlowtrailError && err.retriable)
    return { code: grpc.status.UNAVAILABLE, details: 'temporarily unavailable; retry' };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

/** Builds the Observer and Health services over the store. */
export function createGrpcServer(deps: ApiDeps, core: QueryCore, metrics: Metrics): GrpcApi {
  const logger: Logger = deps.logger.child('grpc');
  const calls = metrics.counter('grpc_calls_total', 'gRPC calls by method and code.', ['method', 'code']);
  const streamed = metrics.counter('grpc_flows_sent_total', 'Flows sent by GetFlows.');
  const { auditLog, authenticator, settings, admission } = core;
  const statusDeps = {
    store: deps.store,
    settings,
    limits: deps.api.limits,
    startedAtMs: Date.now(),
    version: 'flowtrail 0.1.0 (stored flows)',
  };

  const principalOf = (md: grpc.Metadata): Principal => {
    const v = md.get('authorization')[0];
    const p = authenticator.authenticate(typeof v === 'string' ? v : v?.toString('utf8'));
    authorize(p, 'grpc');
    return p;
  };
  const fail = (method: string, err: unknown) => {
    const s = grpcStatusOf(err);
    if (s.code === grpc.status.INTERNAL || s.code === grpc.status.UNAVAILABLE)
      logger.error('grpc call failed', { method, err });
    else if (s.code === grpc.status.RESOURCE_EXHAUSTED)
      logger.warn('grpc call hit a limit', {
        method,
        err,
        detail: (err as { cause?: Error }).cause?.message,
      });
    calls.inc({ method, code: grpc.status[s.code] });
    return { code: s.code, details: s.details };
  };
  const unary =
    <Req, Res>(
      method: string,
      fn: (p: Principal, req: Req) => Promise<Res>,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, cb) => {
      const started = Date.now();
      let principal: Principal | undefined;
      // Every call is audited, refused credentials included.
      const audit = (outcome: string, code: number, error?: string) =>
        auditLog.record({
          requestId: randomUUID(),
          principal,
          action: `grpc.${method.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase())}`,
          transport: 'grpc',
          method,
          path: `/observer.Observer/${method}`,
          parameters: {},
          rows: 0,
          outcome,
          status: code,
          ...(error ? { error } : {}),
          startedAtMs: started,
          remoteAddr: call.getPeer(),
        });
      (async () => {
        const p = principalOf(call.metadata);
        principal = p;
        const admitted = admission.admit(p);
        try {
          return await admission.gate.run(() => fn(p, call.request));
        } finally {
          admitted.release();
        }
      })().then(
        (res) => {
          calls.inc({ method, code: 'OK' });
          audit('ok', grpc.status.OK);
          cb(null, res);
        },
        (err) => {
          const s = fail(method, err);
          audit(describeError(err).outcome, s.code, s.details);
          cb(s);
        },
      );
    };

  const observer: ObserverServer = {
    getFlows: (call) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const started = Date.now();
      let principal: Principal | undefined;
      let sent = 0;
      const send = (r: Parameters<Parameters<typeof serveGetFlows>[3]>[0]) =>
        new Promise<void>((resolve) => {
          sent++;
          streamed.inc();
          if (call.write(r)) resolve();
          else call.once('drain', () => resolve());
        });
      let release = () => {};
      (async () => {
        principal = principalOf(call.metadata);
        admission.checkComplexity(countFilterValues([...call.request.whitelist, ...call.request.blacklist]));
        const admitted = admission.admit(principal);
        const slot = (() => {
          try {
            return admission.gate.acquire();
          } catch (err) {
            admitted.release();
            throw err;
          }
        })();
        release = () => {
          slot();
          admitted.release();
        };
        // A following stream is open-ended by design; a history query has the request deadline.
        const signal = call.request.follow
          ? abort.signal
          : AbortSignal.any([abort.signal, admitted.deadline]);
        try {
          return await serveGetFlows(
            { store: deps.store, settings, limits: deps.api.limits, followPollMs: deps.api.followPollMs },
            call.request,
            principal,
            send,
            signal,
          );
        } catch (err) {
          throw admitted.deadline.aborted && !abort.signal.aborted ? admitted.deadline.reason : err;
        }
      })()
        .finally(() => release())
        .then(
          () => {
            calls.inc({ method: 'GetFlows', code: 'OK' });
            audit('ok', 0);
            call.end();
          },
          (err) => {
            const s = fail('GetFlows', err);
            audit(describeError(err).outcome, s.code, s.details);
            if (!call.cancelled) call.emit('error', { code: s.code, details: s.details });
          },
        );
      function audit(outcome: string, code: number, error?: string) {
        const r = call.request;
        auditLog.record({
          requestId: randomUUID(),
          principal,
          action: 'grpc.get_flows',
          transport: 'grpc',
          method: 'GetFlows',
          path: '/observer.Observer/GetFlows',
          parameters: {
            number: r.number.toString(),
            first: r.first,
            follow: r.follow,
            since: r.since ? `${r.since.seconds}.${r.since.nanos}` : null,
            until: r.until ? `${r.until.seconds}.${r.until.nanos}` : null,
            whitelist: r.whitelist.length,
            blacklist: r.blacklist.length,
            field_mask: r.field_mask ?? [],
          },
          rows: sent,
          outcome: abort.signal.aborted && outcome === 'ok' ? 'cancelled' : outcome,
          status: code,
          ...(error ? { error } : {}),
          startedAtMs: started,
          remoteAddr: call.getPeer(),
        });
      }
    },
    getAgentEvents: (call) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'agent events are not stored' });
    },
    getDebugEvents: (call) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'debug events are not stored' });
    },
    getNodes: unary('GetNodes', (p) => getNodes(statusDeps, p)),
    getNamespaces: unary('GetNamespaces', (p) => getNamespaces(statusDeps, p)),
    serverStatus: unary('ServerStatus', (p) => serverStatus(statusDeps, p)),
  };

  const health: HealthServer = {
    check: (call, cb) => {
      const s = call.request.service;
      if (s === '' || s === observerServiceName)
        cb(null, { status: HealthCheckResponse_ServingStatus.SERVING });
      else cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${s.slice(0, 100)}` });
    },
    watch: (call) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'watch is not implemented' });
    },
  };

  const server = new grpc.Server();
  server.addService(ObserverService, observer);
  server.addService(HealthService, health);
  return {
    server,
    listen: (host, port, tls = plaintextGrpc) =>
      new Promise((resolve, reject) => {
        const credentials = grpcServerCredentials(tls);
        server.bindAsync(`${host}:${port}`, credentials, (err, bound) => {
          if (err) return reject(err);
          logger.info('grpc listening', {
            address: `${host}:${bound}`,
            tls: tls.kind === 'tls',
            client_certs: tls.kind === 'tls' && tls.clientCaPath !== undefined,
          });
          resolve({
            port: bound,
            close: () =>
              new Promise<void>((res) => {
                server.tryShutdown(() => res());
                setTimeout(() => {
                  server.forceShutdown();
                  res();
                }, 2000).unref();
              }),
          });
        });
      }),
  };
}
