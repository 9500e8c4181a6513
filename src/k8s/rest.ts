import type { Readable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { KubeApiError, KubeTransportError } from './errors.ts';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

/** One finished API call, for metrics. `verb` is the Kubernetes verb (get, list, create, patch, …). */
export interface RequestRecord {
  verb: string;
  resource: string;
  code: number;
  durationMs: number;
  throttledMs: number;
}

export interface RateLimiter {
  take(signal?: AbortSignal): Promise<number>;
}

export interface KubeClientOptions {
  /** Client-side QPS/burst limiter applied to every request except watches. */
  limiter?: RateLimiter;
  onRequest?: (record: RequestRecord) => void;
  timeoutMs?: number;
  maxConnections?: number;
  userAgent?: string;
  /** The kubeconfig context to use instead of its current one (kubectl's --context). */
  context?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header, e.g. to ask for metadata only; JSON by default. */
  accept?: string;
  signal?: AbortSignal;
}

export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

interface Credentials {
  headers: Record<string, string>;
  expiresAt: number;
}

/** How long auth headers are reused before asking the kubeconfig again (token files rotate, exec plugins expire). */
const CREDENTIALS_TTL_MS = 30_000;

/**
 * A JSON client for the Kubernetes REST API. It takes credentials and TLS settings from
 * client-node's KubeConfig (kubeconfig files, in-cluster service accounts, exec plugins) but keeps
 * one keep-alive connection pool and returns plain JSON, so list and watch results have one shape.
 */
export class KubeClient {
  readonly server: string;
  private readonly kubeConfig: KubeConfig;
  private readonly agent: Agent;
  private readonly options: KubeClientOptions;
  private credentials: Credentials | undefined;

  private constructor(kubeConfig: KubeConfig, agent: Agent, server: string, options: KubeClientOptions) {
    this.kubeConfig = kubeConfig;
    this.agent = agent;
    this.server = server.replace(/\/+$/, '');
    this.options = options;
  }

  /** Loads a kubeconfig file, or the in-cluster service account when no path is given and one is mounted. */
  static async load(kubeconfigPath: string | undefined, options: KubeClientOptions = {}): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    if (options.context !== undefined) {
      if (!kc.getContextObject(options.context)) {
        const known = kc.getContexts().map((c) => c.name);
        throw new KubeTransportError('LOAD', 'kubeconfig', new Error(`no context "${options.context}" in the kubeconfig (it has ${known.length ? known.join(', ') : 'none'})`));
      }
      kc.setCurrentContext(options.context);
    }
    return KubeClient.fromKubeConfig(kc, options);
  }

  static async fromKubeConfig(kc: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeTransportError('LOAD', 'kubeconfig', new Error('the kubeconfig has no current cluster'));
    const tls: Record<string, unknown> = {};
    await kc.applyToHTTPSOptions(tls);
    const agent = new Agent({
      connections: options.maxConnections ?? 64,
      keepAliveTimeout: 30_000,
      connect: {
        ca: tls['ca'] as string | Buffer | undefined,
        cert: tls['cert'] as string | Buffer | undefined,
        key: tls['key'] as string | Buffer | undefined,
        rejectUnauthorized: tls['rejectUnauthorized'] as boolean | undefined,
        servername: cluster.tlsServerName,
      },
    });
    return new KubeClient(kc, agent, cluster.server, options);
  }

  /** The namespace of the kubeconfig's current context (or of the in-cluster service account), if it names one. */
  get namespace(): string | undefined {
    return this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())?.namespace || undefined;
  }

  async request<T>(verb: HttpVerb, path: string, opts: RequestOptions = {}): Promise<T> {
    const throttledMs = this.options.limiter ? await this.options.limiter.take(opts.signal) : 0;
    const kubeVerb = kubeVerbOf(verb, path);
    const started = performance.now();
    const headers = await this.headers(opts.accept);
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    let code = 0;
    try {
      const res = await request(this.url(path, opts.query), {
        method: verb,
        headers,
        body,
        dispatcher: this.agent,
        signal: opts.signal,
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: this.options.timeoutMs ?? 30_000,
      });
      code = res.statusCode;
      const text = await res.body.text();
      if (code >= 200 && code < 300) {
        const json = String(res.headers['content-type'] ?? '').includes('json');
        return (json && text ? JSON.parse(text) : text) as T;
      }
      throw apiError(code, text, kubeVerb, path);
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw new KubeTransportError(kubeVerb, path, err);
    } finally {
      this.options.onRequest?.({ verb: kubeVerb, resource: resourceOf(path), code, durationMs: performance.now() - started, throttledMs });
    }
  }

  /**
   * Streams a watch until the server closes it (resolves) or it fails (rejects). An ERROR event,
   * such as 410 Gone for an expired resourceVersion, rejects with a KubeApiError of that code.
   * `idleTimeoutMs` bounds the silence between chunks, which catches half-open connections.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    opts: { signal?: AbortSignal; idleTimeoutMs?: number; accept?: string } = {},
  ): Promise<void> {
    const headers = await this.headers(opts.accept);
    const started = performance.now();
    let code = 0;
    try {
      const res = await request(this.url(path, { ...query, watch: true }), {
        method: 'GET',
        headers,
        dispatcher: this.agent,
        signal: opts.signal,
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: opts.idleTimeoutMs ?? 120_000,
      });
      code = res.statusCode;
      if (code !== 200) throw apiError(code, await res.body.text(), 'watch', path);
      await readLines(res.body, (line) => {
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; reason?: string; message?: string };
          throw new KubeApiError({ status: status.code ?? 500, reason: status.reason ?? 'Error', message: status.message ?? '', verb: 'watch', path });
        }
        onEvent(event);
      });
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      throw new KubeTransportError('watch', path, err);
    } finally {
      this.options.onRequest?.({ verb: 'watch', resource: resourceOf(path), code, durationMs: performance.now() - started, throttledMs: 0 });
    }
  }

  /** Closes the pool; requests still open after a second (watches, say) are cut rather than waited for. */
  async close(): Promise<void> {
    const timer = setTimeout(() => void this.agent.destroy().catch(() => {}), 1000);
    timer.unref();
    await this.agent.close().catch(() => {});
    clearTimeout(timer);
  }

  private url(path: string, query: RequestOptions['query']): string {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private async headers(accept = 'application/json'): Promise<Record<string, string>> {
    const now = Date.now();
    if (!this.credentials || this.credentials.expiresAt <= now) {
      const opts: { headers?: Record<string, string> } = {};
      await this.kubeConfig.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v);
      const user = this.kubeConfig.getCurrentUser();
      if (user?.username) headers['authorization'] = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
      this.credentials = { headers, expiresAt: now + CREDENTIALS_TTL_MS };
    }
    const headers: Record<string, string> = { ...this.credentials.headers, accept };
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    return headers;
  }
}

function apiError(code: number, text: string, verb: string, path: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 2000);
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? '';
    message = status.message ?? message;
  } catch {
    // Not a Status object (proxies, 401 bodies): keep the raw text.
  }
  return new KubeApiError({ status: code, reason, message, verb, path });
}

async function readLines(body: Readable, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim()) onLine(line);
      newline = pending.indexOf('\n');
    }
  }
  if (pending.trim()) onLine(pending);
}

/** Maps an HTTP method and path to the Kubernetes verb used in RBAC and in audit logs. */
export function kubeVerbOf(method: HttpVerb, path: string): string {
  const named = resourceParts(path).name !== undefined;
  switch (method) {
    case 'GET':
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
  }
}

/** `pods`, `pods/status`, `flyteworkflows/status`, … for a REST path. */
export function resourceOf(path: string): string {
  const { resource, subresource } = resourceParts(path);
  return subresource ? `${resource}/${subresource}` : resource;
}

function resourceParts(path: string): { resource: string; name?: string; subresource?: string } {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let i = parts[0] === 'api' ? 2 : 3;
  if (parts[i] === 'namespaces' && parts.length > i + 2) i += 2;
  return { resource: parts[i] ?? 'unknown', name: parts[i + 1], subresource: parts[i + 2] };
}
