// Endpoints and their subscriptions: the use cases behind the endpoint routes, and what other
// modules ask about endpoints (who subscribes to a type, disabling one). Owns the `endpoints` and
// `endpoint_subscriptions` tables.
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { Endpoint } from './entities/endpoint.entity';
import { EndpointSubscription } from './entities/endpoint-subscription.entity';
import { CreateEndpointDto } from './dto/create-endpoint.dto';
import { UpdateEndpointDto } from './dto/update-endpoint.dto';
import { ListEndpointsQuery } from './dto/list-endpoints.query';
import {
  CreatedEndpointResponse,
  EndpointPage,
  EndpointResponse,
  EndpointSecretResponse,
} from './dto/endpoint.response';
import { checkHeaders } from './header-rules';
import { endpointSecretProblem, newEndpointSecret } from './endpoint-secret';
import { DeliveryQueue } from '../queue/delivery-queue';
import { DeliveryLifecycleService } from '../deliveries/delivery-lifecycle.service';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { FieldProblem, invalid, notFound, TernError } from '../common/errors';
import { CheckedBody, invalidBody } from '../common/validation';
import { newId } from '../common/ids';
import { decodeCursor, pageLimit, toPage } from '../common/pagination';
import { normaliseTargetUrl, TargetUrl } from '../net/target-url';
import { resolveAndVet, TargetError } from '../net/resolve';
import { patternKind, patternProblem } from '../subscriptions/patterns';

/** disabledReason when the API (PATCH enabled:false, or creation with enabled:false) disables one. */
export const DISABLED_BY_API = 'disabled by API';

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_TTL = '24 hours';

@Injectable()
export class EndpointsService {
  constructor(
    @InjectRepository(Endpoint) private readonly endpoints: Repository<Endpoint>,
    @InjectRepository(EndpointSubscription)
    private readonly subscriptions: Repository<EndpointSubscription>,
    private readonly lifecycle: DeliveryLifecycleService,
    private readonly queue: DeliveryQueue,
    @Inject(TERN_CONFIG) private readonly config: TernConfig,
  ) {}

  // --- routes -----------------------------------------------------------------------------------

  /** `body`: shape problems and all, so that one 400 names them with the service's own. */
  async create(
    tenantId: string,
    body: CheckedBody<CreateEndpointDto>,
  ): Promise<CreatedEndpointResponse> {
    const problems = [...body.problems];
    const target = await this.checkFields(body.fields, new Set(), problems);
    if (problems.length) throw invalidBody(CreateEndpointDto, problems);
    // No problem: every required field is there, well shaped.
    const dto = body.fields as CreateEndpointDto;

    const id = newId('ep');
    const enabled = dto.enabled ?? true;
    const secret = dto.secret ?? newEndpointSecret();
    const row = await this.endpoints.manager.transaction(async (m) => {
      await m.insert(Endpoint, {
        id,
        tenantId,
        url: target!.url,
        description: dto.description ?? null,
        headers: dto.headers ?? {},
        enabled,
        disabledReason: enabled ? null : DISABLED_BY_API,
        rateLimitPerSecond: dto.rateLimitPerSecond ?? null,
        secret,
      });
      await this.replaceSubscriptions(m, tenantId, id, dto.eventTypes);
      return m.findOneByOrFail(Endpoint, { id });
    });
    return { ...this.toResponse(row, dto.eventTypes), secret };
  }

  async list(tenantId: string, query: ListEndpointsQuery): Promise<EndpointPage> {
    const limit = pageLimit(query);
    const cursor = decodeCursor(query.cursor, 1);
    if (cursor && typeof cursor[0] !== 'string')
      throw invalid('cursor', 'is not a cursor this list returned');
    const qb = this.endpoints
      .createQueryBuilder('e')
      .where('e.tenant_id = :tenantId AND e.deleted_at IS NULL', { tenantId });
    if (query.enabled !== undefined)
      qb.andWhere('e.enabled = :enabled', { enabled: query.enabled });
    if (cursor) qb.andWhere('e.id < :cursor', { cursor: cursor[0] });
    const rows = await qb
      .orderBy('e.id', 'DESC')
      .limit(limit + 1)
      .getMany();
    const patterns = await this.patternsOf(
      this.endpoints.manager,
      rows.slice(0, limit).map((r) => r.id),
    );
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      (r) => this.toResponse(r, patterns.get(r.id) ?? []),
    );
  }

  /** One endpoint of a tenant as the API shows it; 404 when absent, deleted or another tenant's. */
  async getForTenant(tenantId: string, endpointId: string): Promise<EndpointResponse> {
    const row = await this.findRow(this.endpoints.manager, tenantId, endpointId);
    const patterns = await this.patternsOf(this.endpoints.manager, [row.id]);
    return this.toResponse(row, patterns.get(row.id) ?? []);
  }

  /** `body`: as for create; a body with shape problems is a 400 even for an unknown endpoint. */
  async update(
    tenantId: string,
    endpointId: string,
    body: CheckedBody<UpdateEndpointDto>,
  ): Promise<EndpointResponse> {
    const before = await this.lookupRow(this.endpoints.manager, tenantId, endpointId);
    if (!before) {
      // No endpoint to check against (its kept subscriptions): the shape problems alone, or a 404.
      if (body.problems.length) throw invalidBody(UpdateEndpointDto, body.problems);
      throw notFound('Endpoint');
    }
    const dto = body.fields;
    // Archived types the endpoint already subscribes to may stay; only new ones are refused.
    const current =
      dto.eventTypes !== undefined
        ? await this.patternsOf(this.endpoints.manager, [before.id])
        : new Map<string, string[]>();
    const keep = new Set(current.get(before.id) ?? []);
    const problems = [...body.problems];
    const target = await this.checkFields(dto, keep, problems);
    if (problems.length) throw invalidBody(UpdateEndpointDto, problems);

    let resumed: string[] = [];
    const response = await this.endpoints.manager.transaction(async (m) => {
      // Locked, so a concurrent disable by the dispatcher and this PATCH apply one after the other.
      const row = await this.findRow(m, tenantId, endpointId, true);
      const changes: Partial<Endpoint> = {};
      if (target) changes.url = target.url;
      if (dto.description !== undefined) changes.description = dto.description;
      if (dto.headers !== undefined) changes.headers = dto.headers;
      if (dto.rateLimitPerSecond !== undefined) changes.rateLimitPerSecond = dto.rateLimitPerSecond;
      const resume = dto.enabled === true && !row.enabled;
      const pause = dto.enabled === false && row.enabled;
      if (resume) Object.assign(changes, { enabled: true, disabledReason: null });
      if (resume) changes.consecutiveFailures = 0;
      if (pause) Object.assign(changes, { enabled: false, disabledReason: DISABLED_BY_API });
      await m.update(Endpoint, { id: row.id }, { ...changes, updatedAt: () => 'now()' });
      if (dto.eventTypes !== undefined)
        await this.replaceSubscriptions(m, tenantId, row.id, dto.eventTypes);
      if (resume) resumed = await this.lifecycle.resumeEndpoint(m, row.id);
      if (pause) await this.lifecycle.pauseEndpoint(m, row.id);
      const after = await m.findOneByOrFail(Endpoint, { id: row.id });
      const patterns = await this.patternsOf(m, [row.id]);
      return this.toResponse(after, patterns.get(row.id) ?? []);
    });
    // After commit: the resumed deliveries go now, not at the next sweep.
    await this.queue.wake(resumed.map((id): [string, string] => [id, endpointId]));
    return response;
  }

  /** Soft delete: the endpoint answers 404 from now on and its unfinished deliveries are cancelled. */
  async remove(tenantId: string, endpointId: string): Promise<void> {
    await this.endpoints.manager.transaction(async (m) => {
      const [rows] = await m.query(
        `UPDATE endpoints SET deleted_at = now(), updated_at = now()
          WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL RETURNING id`,
        [endpointId, tenantId],
      );
      if (!rows.length) throw notFound('Endpoint');
      // A deleted endpoint never receives again: drop its subscriptions from the fan-out index.
      await m.delete(EndpointSubscription, { endpointId });
      await this.lifecycle.cancelEndpoint(m, endpointId);
    });
  }

  /** New secret; the current one becomes the previous one and keeps signing for 24 h. */
  async rotateSecret(
    tenantId: string,
    endpointId: string,
    supplied?: string,
  ): Promise<EndpointSecretResponse> {
    if (supplied !== undefined) {
      const problem = endpointSecretProblem(supplied);
      if (problem) throw invalid('secret', problem);
    }
    const secret = supplied ?? newEndpointSecret();
    await this.endpoints.manager.transaction(async (m) => {
      const row = await this.findRow(m, tenantId, endpointId, true);
      if (row.secret === secret) throw invalid('secret', 'must differ from the current secret');
      // In UPDATE, `secret` on the right-hand side is the value before this statement.
      await m.query(
        `UPDATE endpoints
            SET previous_secret = secret,
                previous_secret_expires_at = now() + interval '${PREVIOUS_SECRET_TTL}',
                secret = $2, updated_at = now()
          WHERE id = $1`,
        [row.id, secret],
      );
    });
    return { secret };
  }

  // --- for other modules ------------------------------------------------------------------------

  /**
   * Disables an enabled endpoint with `reason` and pauses its pending deliveries, in the caller's
   * transaction. Returns true when it changed state (false: already disabled, deleted or absent).
   */
  async disableEndpoint(
    manager: EntityManager,
    endpointId: string,
    reason: string,
  ): Promise<boolean> {
    const [rows] = await manager.query(
      `UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
        WHERE id = $1 AND enabled AND deleted_at IS NULL RETURNING id`,
      [endpointId, reason],
    );
    if (!rows.length) return false;
    await this.lifecycle.pauseEndpoint(manager, endpointId);
    return true;
  }

  /** A delivery to the endpoint exhausted its attempts. Returns the endpoint's run of them so far. */
  async recordDeliveryExhausted(manager: EntityManager, endpointId: string): Promise<number> {
    const [rows] = await manager.query(
      `UPDATE endpoints SET consecutive_failures = consecutive_failures + 1
        WHERE id = $1 RETURNING consecutive_failures`,
      [endpointId],
    );
    return rows[0]?.consecutive_failures ?? 0;
  }

  // --- inside -----------------------------------------------------------------------------------

  private async findRow(
    manager: EntityManager,
    tenantId: string,
    endpointId: string,
    lock = false,
  ): Promise<Endpoint> {
    const row = await this.lookupRow(manager, tenantId, endpointId, lock);
    if (!row) throw notFound('Endpoint');
    return row;
  }

  /** findRow, null when there is no such endpoint. */
  private async lookupRow(
    manager: EntityManager,
    tenantId: string,
    endpointId: string,
    lock = false,
  ): Promise<Endpoint | null> {
    const qb = manager
      .createQueryBuilder(Endpoint, 'e')
      .where('e.id = :endpointId AND e.tenant_id = :tenantId AND e.deleted_at IS NULL', {
        endpointId,
        tenantId,
      });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  /** Subscription patterns of each endpoint, sorted. */
  private async patternsOf(manager: EntityManager, ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    const rows: { endpoint_id: string; pattern: string }[] = await manager.query(
      `SELECT endpoint_id, pattern FROM endpoint_subscriptions
        WHERE endpoint_id = ANY($1) ORDER BY endpoint_id, pattern`,
      [ids],
    );
    for (const r of rows) {
      const list = out.get(r.endpoint_id) ?? [];
      list.push(r.pattern);
      out.set(r.endpoint_id, list);
    }
    return out;
  }

  private async replaceSubscriptions(
    manager: EntityManager,
    tenantId: string,
    endpointId: string,
    patterns: string[],
  ): Promise<void> {
    await manager.delete(EndpointSubscription, { endpointId });
    await manager.insert(
      EndpointSubscription,
      patterns.map((pattern) => ({ endpointId, tenantId, pattern })),
    );
  }

  /**
   * The service's checks of the fields of a create or patch body whose shape is fine (the others
   * are absent from `fields`): problems are added, not thrown. Returns the normalised URL, if any.
   * `keep`: archived types the endpoint already subscribes to (see eventTypeProblems).
   */
  private async checkFields(
    fields: Partial<CreateEndpointDto>,
    keep: Set<string>,
    problems: FieldProblem[],
  ): Promise<TargetUrl | null> {
    const target = fields.url !== undefined ? await this.checkUrl(fields.url, problems) : null;
    if (fields.eventTypes !== undefined)
      problems.push(...(await this.eventTypeProblems(fields.eventTypes, keep)));
    if (fields.headers !== undefined) problems.push(...checkHeaders(fields.headers));
    if (fields.secret !== undefined) {
      const problem = endpointSecretProblem(fields.secret);
      if (problem) problems.push({ field: 'secret', message: problem });
    }
    return target;
  }

  /** Normalises the URL and vets every address it resolves to; problems are added, not thrown. */
  private async checkUrl(raw: string, problems: FieldProblem[]): Promise<TargetUrl | null> {
    let target: TargetUrl;
    try {
      target = normaliseTargetUrl(raw);
    } catch (e) {
      if (!(e instanceof TernError) || !Array.isArray(e.details)) throw e;
      problems.push(...e.details);
      return null;
    }
    try {
      await resolveAndVet(target.host, this.config.allowedTargetCidrs);
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      problems.push({ field: 'url', message: e.message });
      return null;
    }
    return target;
  }

  /**
   * Problems with a subscription list, each naming `eventTypes[i]`: bad or repeated patterns, and
   * exact names that are not in the catalog or archived (`keep`: already subscribed, so allowed
   * even if archived since). The catalog is read in one query for the whole list.
   */
  private async eventTypeProblems(list: string[], keep: Set<string>): Promise<FieldProblem[]> {
    const problems: FieldProblem[] = [];
    const firstIndex = new Map<string, number>();
    const exact: [string, number][] = [];
    for (const [i, pattern] of list.entries()) {
      const field = `eventTypes[${i}]`;
      const problem = patternProblem(pattern);
      const earlier = firstIndex.get(pattern);
      if (problem) problems.push({ field, message: problem });
      else if (earlier !== undefined)
        problems.push({ field, message: `repeats eventTypes[${earlier}]` });
      else {
        firstIndex.set(pattern, i);
        if (patternKind(pattern) === 'exact') exact.push([pattern, i]);
      }
    }
    if (exact.length === 0) return problems;
    const rows: { name: string; archived: boolean }[] = await this.endpoints.manager.query(
      `SELECT name, archived_at IS NOT NULL AS archived FROM event_types WHERE name = ANY($1)`,
      [exact.map(([name]) => name)],
    );
    const archived = new Map(rows.map((r) => [r.name, r.archived]));
    for (const [name, i] of exact) {
      const field = `eventTypes[${i}]`;
      if (!archived.has(name))
        problems.push({ field, message: `"${name}" is not in the event type catalog` });
      else if (archived.get(name) && !keep.has(name))
        problems.push({ field, message: `"${name}" is archived; new subscriptions are refused` });
    }
    return problems.sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true }));
  }

  private toResponse(row: Endpoint, patterns: string[]): EndpointResponse {
    return {
      id: row.id,
      tenantId: row.tenantId,
      url: row.url,
      description: row.description,
      eventTypes: [...patterns].sort(),
      headers: row.headers ?? {},
      enabled: row.enabled,
      disabledReason: row.disabledReason,
      rateLimitPerSecond: row.rateLimitPerSecond,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}
