// Request and response bodies of the Tern HTTP API, mirroring the public contract.
// Times are ISO 8601 strings; ids are opaque prefixed strings.

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageOptions {
  /** 1..250, default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A moment as a Date or an ISO 8601 string. */
export type Moment = Date | string;

// Tenants and their API keys.

export interface Tenant {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** The answer to creating a tenant: its first API key is shown only here. */
export interface TenantWithApiKey extends Tenant {
  apiKey: string;
}

export interface CreateTenantInput {
  /** Chosen by the operator (`[A-Za-z0-9_.:-]{1,64}`), or generated when left out. */
  id?: string;
  name: string;
  metadata?: Record<string, unknown>;
}

export interface UpdateTenantInput {
  name?: string;
  metadata?: Record<string, unknown>;
}

/** An issued tenant API key; `apiKey` is shown only once. */
export interface ApiKey {
  id: string;
  apiKey: string;
  createdAt: string;
}

// The event type catalog.

export interface EventType {
  name: string;
  category: string | null;
  description: string | null;
  /** JSON Schema that an event's `data` must satisfy, or null. */
  schema: Record<string, unknown> | null;
  /** The reserved types (`tern.*`, `webhook.test`) cannot be edited. */
  reserved: boolean;
  /** Set when archived: existing subscriptions stay, new ones are refused. */
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CreateEventTypeInput {
  /** Like `order.completed`. */
  name: string;
  category?: string;
  description?: string;
  schema?: Record<string, unknown>;
}

export interface UpdateEventTypeInput {
  category?: string | null;
  description?: string | null;
  schema?: Record<string, unknown> | null;
}

export interface EventTypeFilters extends PageOptions {
  category?: string;
}

// Events.

export interface TriggerEventInput<TData = unknown> {
  type: string;
  data: TData;
  idempotencyKey?: string;
}

/** 202 answer to a trigger: the event was stored and fanned out. */
export interface EventAccepted {
  id: string;
  type: string;
  timestamp: string;
  /** One delivery per subscribed endpoint (`paused` for a disabled one). */
  deliveries: EventDeliveryRef[];
}

/** 202 answer to a manual retry: the delivery is due again now. */
export interface RetryAccepted {
  id: string;
  status: 'pending';
  nextAttemptAt: string;
}

export interface EventDeliveryRef {
  id: string;
  endpointId: string;
  status: DeliveryStatus;
}

export interface BatchAccepted {
  /** One entry per submitted event, in order. */
  data: EventAccepted[];
}

export interface EventWithDeliveries<TData = unknown> {
  id: string;
  type: string;
  timestamp: string;
  data: TData;
  idempotencyKey?: string | null;
  deliveries: Delivery[];
}

// Endpoints.

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  /** Subscriptions: catalog names, `prefix.*`, or `*`. */
  eventTypes: string[];
  headers: Record<string, string>;
  enabled: boolean;
  disabledReason: string | null;
  rateLimitPerSecond: number | null;
  createdAt: string;
  updatedAt: string;
}

/** An endpoint as answered at creation and rotation: the only times its secret is shown. */
export interface EndpointWithSecret extends Endpoint {
  /** `whsec_...`: give it to the receiver to verify signatures. */
  secret: string;
}

export interface CreateEndpointInput {
  url: string;
  eventTypes: string[];
  description?: string;
  headers?: Record<string, string>;
  enabled?: boolean;
  /** Bring your own `whsec_...` secret; one is generated otherwise. */
  secret?: string;
  rateLimitPerSecond?: number;
}

export interface UpdateEndpointInput {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  headers?: Record<string, string>;
  /** `true` re-enables a disabled endpoint and resumes its paused deliveries. */
  enabled?: boolean;
  rateLimitPerSecond?: number | null;
}

export interface RecoverInput {
  since: Moment;
  until?: Moment;
}

/** The answer to a recover request. */
export interface RecoverResult {
  /** Failed deliveries put back in the queue. */
  requeued: number;
}

// Deliveries.

export type DeliveryStatus =
  | 'pending'
  | 'sending'
  | 'succeeded'
  | 'failed'
  | 'paused'
  | 'cancelled';

export interface Delivery {
  id: string;
  tenantId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attemptCount: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryAttempt {
  id?: string;
  /** 1 for the first attempt. */
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  /** The first 4 KiB of the answer. */
  responseBody: string | null;
  error: string | null;
}

/** One delivery with every attempt. */
export interface DeliveryWithAttempts extends Delivery {
  attempts: DeliveryAttempt[];
}

export interface DeliveryFilters extends PageOptions {
  status?: DeliveryStatus;
  eventType?: string;
  endpointId?: string;
  eventId?: string;
  since?: Moment;
  until?: Moment;
}

export interface AdminDeliveryFilters extends DeliveryFilters {
  tenantId?: string;
}

// Alerts.

export type AlertType = 'tern.delivery.failed' | 'tern.endpoint.disabled';

export interface Alert {
  id: string;
  type: AlertType;
  message: string;
  endpointId: string | null;
  deliveryId: string | null;
  eventId: string | null;
  data: Record<string, unknown>;
  createdAt: string;
}

// Errors and receivers.

/** The contract's error body. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** For 400s: `[{field, message}]`. */
  details?: unknown;
}

/** What a receiver gets in the body of a delivery. */
export interface WebhookEvent<TData = Record<string, unknown>> {
  id: string;
  type: string;
  timestamp: string;
  data: TData;
}
