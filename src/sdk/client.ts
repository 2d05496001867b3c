// The Tern API client: one typed method per route of the contract, over the global fetch, no dependencies.
import { TernApiError } from './errors';
import type {
  AdminDeliveryFilters,
  Alert,
  ApiKey,
  BatchAccepted,
  CreateEndpointInput,
  CreateEventTypeInput,
  CreateTenantInput,
  Delivery,
  RetryAccepted,
  DeliveryFilters,
  DeliveryWithAttempts,
  Endpoint,
  EndpointWithSecret,
  EventAccepted,
  EventType,
  EventTypeFilters,
  EventWithDeliveries,
  Page,
  PageOptions,
  RecoverInput,
  RecoverResult,
  Tenant,
  TenantWithApiKey,
  TriggerEventInput,
  UpdateEndpointInput,
  UpdateEventTypeInput,
  UpdateTenantInput,
} from './types';

export interface TernOptions {
  /** Where Tern listens, e.g. `https://webhooks.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The admin key, or a tenant's own key. */
  apiKey: string;
  /** Per request, including reading the answer (default 30000). */
  timeoutMs?: number;
  /** A fetch to use instead of the global one (e.g. one with a proxy). */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | Date | null | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
}

/** One path segment: encoded, and never empty, `.` or `..` (which URL parsing would swallow). */
function segment(value: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..')
    throw new TypeError(`${JSON.stringify(value)} cannot be used as an id in a URL path`);
  return encodeURIComponent(value);
}

/** path`/v1/tenants/${id}` with every interpolated value encoded as one segment. */
function path(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? segment(values[i]) : ''), '');
}

const iso = (m: Date | string | undefined) => (m instanceof Date ? m.toISOString() : m);

/** Walks every page from the first (or from `cursor`), yielding items newest first. */
async function* eachItem<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  cursor?: string,
): AsyncGenerator<T, void, undefined> {
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.data;
    if (!page.nextCursor || page.nextCursor === cursor) return;
    cursor = page.nextCursor;
  }
}

/** Sends requests and turns every non-2xx answer or network failure into a TernApiError. */
class Transport {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    fetchImpl: typeof fetch | undefined,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new TypeError(`baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`baseUrl must be http(s), not ${url.protocol}`);
    if (url.search || url.hash) throw new TypeError('baseUrl must not hold a query or fragment');
    this.base = url.href.replace(/\/+$/, '');
    if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('apiKey is required');
    const f = fetchImpl ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('no fetch available: use Node 18 or later');
    this.fetch = f;
  }

  async request<T>(
    method: string,
    route: string,
    { query, body }: RequestOptions = {},
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null)
        search.append(k, v instanceof Date ? v.toISOString() : String(v));
    }
    const qs = search.toString();
    const url = this.base + route + (qs ? `?${qs}` : '');
    const what = `${method} ${route}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.apiKey}`,
      accept: 'application/json',
      'user-agent': 'tern-sdk-node',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';

    let res: Response;
    let text: string;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect would resend the key elsewhere: report it instead of following it.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw this.noAnswer(e, what);
    }

    let parsed: unknown = undefined;
    let isJson = false;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
        isJson = true;
      } catch {
        // handled below
      }
    }
    if (res.status >= 200 && res.status < 300) {
      if (text !== '' && !isJson)
        throw new TernApiError({
          status: res.status,
          error: 'Invalid Response',
          message: `${what} answered ${res.status} with a body that is not JSON`,
          request: what,
        });
      return parsed as T;
    }
    const err = (isJson && parsed && typeof parsed === 'object' ? parsed : {}) as Record<
      string,
      unknown
    >;
    const retryAfter = Number(res.headers.get('retry-after'));
    const location = res.headers.get('location');
    const message =
      typeof err.message === 'string'
        ? err.message
        : location
          ? `${what} was redirected to ${location}; point baseUrl there instead`
          : `${what} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    throw new TernApiError({
      status: res.status,
      error: typeof err.error === 'string' ? err.error : res.statusText || 'Error',
      message,
      details: err.details,
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      request: what,
    });
  }

  private noAnswer(e: unknown, what: string): TernApiError {
    const cause = e as {
      name?: string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    if (cause?.name === 'TimeoutError' || cause?.name === 'AbortError')
      return new TernApiError(
        {
          status: 0,
          error: 'Timeout',
          message: `${what}: no answer from ${this.base} within ${this.timeoutMs} ms`,
          request: what,
        },
        { cause: e },
      );
    const reason = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? String(e);
    return new TernApiError(
      {
        status: 0,
        error: 'NetworkError',
        message: `${what}: could not reach ${this.base} (${reason})`,
        request: what,
      },
      { cause: e },
    );
  }
}

/** Tenants and their API keys (admin key). */
export class TenantsApi {
  constructor(private readonly http: Transport) {}

  /** 201: the tenant with its first API key, which is shown only here. */
  async create(input: CreateTenantInput): Promise<TenantWithApiKey> {
    return this.http.request('POST', '/v1/tenants', { body: input });
  }

  async list(page: PageOptions = {}): Promise<Page<Tenant>> {
    return this.http.request('GET', '/v1/tenants', { query: { ...page } });
  }

  listAll(page: Omit<PageOptions, 'cursor'> = {}): AsyncGenerator<Tenant, void, undefined> {
    return eachItem((cursor) => this.list({ ...page, cursor }));
  }

  async get(tenantId: string): Promise<Tenant> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}`);
  }

  async update(tenantId: string, input: UpdateTenantInput): Promise<Tenant> {
    return this.http.request('PATCH', path`/v1/tenants/${tenantId}`, { body: input });
  }

  async delete(tenantId: string): Promise<void> {
    await this.http.request('DELETE', path`/v1/tenants/${tenantId}`);
  }

  /** Issues another key for the tenant; `apiKey` is shown only in this answer. */
  async createApiKey(tenantId: string): Promise<ApiKey> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/api-keys`, { body: {} });
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    await this.http.request('DELETE', path`/v1/tenants/${tenantId}/api-keys/${keyId}`);
  }
}

/** The global event type catalog (writes need the admin key). */
export class EventTypesApi {
  constructor(private readonly http: Transport) {}

  async create(input: CreateEventTypeInput): Promise<EventType> {
    return this.http.request('POST', '/v1/event-types', { body: input });
  }

  /** Bulk import (upsert by name); answers the stored types. */
  async upsertMany(types: CreateEventTypeInput[]): Promise<EventType[]> {
    const res = await this.http.request<EventType[] | Page<EventType>>('PUT', '/v1/event-types', {
      body: types,
    });
    return Array.isArray(res) ? res : (res?.data ?? []);
  }

  async list(filters: EventTypeFilters = {}): Promise<Page<EventType>> {
    return this.http.request('GET', '/v1/event-types', { query: { ...filters } });
  }

  listAll(
    filters: Omit<EventTypeFilters, 'cursor'> = {},
  ): AsyncGenerator<EventType, void, undefined> {
    return eachItem((cursor) => this.list({ ...filters, cursor }));
  }

  async get(name: string): Promise<EventType> {
    return this.http.request('GET', path`/v1/event-types/${name}`);
  }

  async update(name: string, input: UpdateEventTypeInput): Promise<EventType> {
    return this.http.request('PATCH', path`/v1/event-types/${name}`, { body: input });
  }

  /** Archives the type: existing subscriptions stay, new ones are refused. */
  async delete(name: string): Promise<void> {
    await this.http.request('DELETE', path`/v1/event-types/${name}`);
  }
}

/** Triggering events and reading them back. */
export class EventsApi {
  constructor(private readonly http: Transport) {}

  /** 202: stored and fanned out. The same idempotencyKey again answers the same event. */
  async trigger<TData = unknown>(
    tenantId: string,
    input: TriggerEventInput<TData>,
  ): Promise<EventAccepted> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/events`, { body: input });
  }

  /** Up to 500 events, all accepted or none. */
  async triggerBatch(tenantId: string, events: TriggerEventInput[]): Promise<BatchAccepted> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/events/batch`, {
      body: { events },
    });
  }

  async get<TData = unknown>(
    tenantId: string,
    eventId: string,
  ): Promise<EventWithDeliveries<TData>> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/events/${eventId}`);
  }
}

/** A tenant's endpoints. */
export class EndpointsApi {
  constructor(private readonly http: Transport) {}

  /** 201: the endpoint with its `secret`, which is shown only here and at rotation. */
  async create(tenantId: string, input: CreateEndpointInput): Promise<EndpointWithSecret> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/endpoints`, { body: input });
  }

  async list(tenantId: string, page: PageOptions = {}): Promise<Page<Endpoint>> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/endpoints`, {
      query: { ...page },
    });
  }

  listAll(
    tenantId: string,
    page: Omit<PageOptions, 'cursor'> = {},
  ): AsyncGenerator<Endpoint, void, undefined> {
    return eachItem((cursor) => this.list(tenantId, { ...page, cursor }));
  }

  async get(tenantId: string, endpointId: string): Promise<Endpoint> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/endpoints/${endpointId}`);
  }

  async update(
    tenantId: string,
    endpointId: string,
    input: UpdateEndpointInput,
  ): Promise<Endpoint> {
    return this.http.request('PATCH', path`/v1/tenants/${tenantId}/endpoints/${endpointId}`, {
      body: input,
    });
  }

  async delete(tenantId: string, endpointId: string): Promise<void> {
    await this.http.request('DELETE', path`/v1/tenants/${tenantId}/endpoints/${endpointId}`);
  }

  /** A new secret (`{secret}`); the old one keeps signing beside it for 24 h. */
  async rotateSecret(tenantId: string, endpointId: string): Promise<{ secret: string }> {
    return this.http.request(
      'POST',
      path`/v1/tenants/${tenantId}/endpoints/${endpointId}/rotate-secret`,
      { body: {} },
    );
  }

  /** Sends a `webhook.test` event to this endpoint alone. */
  async sendTest(tenantId: string, endpointId: string): Promise<EventAccepted> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/endpoints/${endpointId}/test`, {
      body: {},
    });
  }

  /** Re-queues this endpoint's failed deliveries created in the window. */
  async recover(
    tenantId: string,
    endpointId: string,
    window: RecoverInput,
  ): Promise<RecoverResult> {
    return this.http.request(
      'POST',
      path`/v1/tenants/${tenantId}/endpoints/${endpointId}/recover`,
      { body: { since: iso(window.since), until: iso(window.until) } },
    );
  }
}

/** A tenant's delivery log. */
export class DeliveriesApi {
  constructor(private readonly http: Transport) {}

  async list(tenantId: string, filters: DeliveryFilters = {}): Promise<Page<Delivery>> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/deliveries`, {
      query: { ...filters },
    });
  }

  listAll(
    tenantId: string,
    filters: Omit<DeliveryFilters, 'cursor'> = {},
  ): AsyncGenerator<Delivery, void, undefined> {
    return eachItem((cursor) => this.list(tenantId, { ...filters, cursor }));
  }

  /** One delivery with every attempt and `nextAttemptAt`. */
  async get(tenantId: string, deliveryId: string): Promise<DeliveryWithAttempts> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/deliveries/${deliveryId}`);
  }

  /** One more attempt now, whatever its status. */
  async retry(tenantId: string, deliveryId: string): Promise<RetryAccepted> {
    return this.http.request('POST', path`/v1/tenants/${tenantId}/deliveries/${deliveryId}/retry`, {
      body: {},
    });
  }
}

/** A tenant's failure alerts, newest first. */
export class AlertsApi {
  constructor(private readonly http: Transport) {}

  async list(tenantId: string, page: PageOptions = {}): Promise<Page<Alert>> {
    return this.http.request('GET', path`/v1/tenants/${tenantId}/alerts`, { query: { ...page } });
  }

  listAll(
    tenantId: string,
    page: Omit<PageOptions, 'cursor'> = {},
  ): AsyncGenerator<Alert, void, undefined> {
    return eachItem((cursor) => this.list(tenantId, { ...page, cursor }));
  }
}

/** Operator-only views across tenants. */
export class AdminApi {
  constructor(private readonly http: Transport) {}

  /** The delivery log across tenants (`tenantId` narrows it to one). */
  async deliveries(filters: AdminDeliveryFilters = {}): Promise<Page<Delivery>> {
    return this.http.request('GET', '/v1/deliveries', { query: { ...filters } });
  }

  allDeliveries(
    filters: Omit<AdminDeliveryFilters, 'cursor'> = {},
  ): AsyncGenerator<Delivery, void, undefined> {
    return eachItem((cursor) => this.deliveries({ ...filters, cursor }));
  }
}

/** The Tern API. `new Tern({ baseUrl, apiKey })`, then e.g. `tern.triggerWebhook(...)`. */
export class Tern {
  readonly tenants: TenantsApi;
  readonly eventTypes: EventTypesApi;
  readonly events: EventsApi;
  readonly endpoints: EndpointsApi;
  readonly deliveries: DeliveriesApi;
  readonly alerts: AlertsApi;
  readonly admin: AdminApi;
  private readonly http: Transport;

  constructor(options: TernOptions) {
    if (!options || typeof options !== 'object')
      throw new TypeError('new Tern({ baseUrl, apiKey })');
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new TypeError('timeoutMs must be a positive number');
    this.http = new Transport(options.baseUrl, options.apiKey, timeoutMs, options.fetch);
    this.tenants = new TenantsApi(this.http);
    this.eventTypes = new EventTypesApi(this.http);
    this.events = new EventsApi(this.http);
    this.endpoints = new EndpointsApi(this.http);
    this.deliveries = new DeliveriesApi(this.http);
    this.alerts = new AlertsApi(this.http);
    this.admin = new AdminApi(this.http);
  }

  /** Sends `type` with `data` to every enabled endpoint of the tenant subscribed to it. */
  async triggerWebhook<TData = unknown>(
    tenantId: string,
    type: string,
    data: TData,
    options: { idempotencyKey?: string } = {},
  ): Promise<EventAccepted> {
    return this.events.trigger(tenantId, { type, data, idempotencyKey: options.idempotencyKey });
  }

  /** `GET /health`: answers when the API process is alive. */
  async health(): Promise<Record<string, unknown>> {
    return this.http.request('GET', '/health');
  }

  /** `GET /health/ready`: throws TernApiError 503 when Postgres or Redis is unreachable. */
  async ready(): Promise<Record<string, unknown>> {
    return this.http.request('GET', '/health/ready');
  }
}
