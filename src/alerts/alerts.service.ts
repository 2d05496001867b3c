// Failure alerts (exhausted deliveries, disabled endpoints). Owns the alerts table; this file is the
// read side, raising alerts belongs to the dispatcher's use cases.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { Alert } from './entities/alert.entity';
import { AlertResponse } from './dto/alert.response';
import { decodeCursor, Page, PageQuery, pageLimit, toPage } from '../common/pagination';
import { invalid } from '../common/errors';

const toAlertResponse = (a: Alert): AlertResponse => ({
  id: a.id,
  type: a.type,
  message: a.message,
  endpointId: a.endpointId,
  deliveryId: a.deliveryId,
  eventId: a.eventId,
  data: a.data,
  createdAt: a.createdAt.toISOString(),
});

@Injectable()
export class AlertsService {
  constructor(@InjectRepository(Alert) private readonly alerts: Repository<Alert>) {}

  /** One tenant's alerts, newest first (keyset on id, served by alerts_tenant_idx). */
  async list(tenantId: string, query: PageQuery): Promise<Page<AlertResponse>> {
    const limit = pageLimit(query);
    const cursor = decodeCursor(query.cursor, 1);
    if (cursor && typeof cursor[0] !== 'string')
      throw invalid('cursor', 'is not a cursor this list returned');
    const rows = await this.alerts.find({
      where: cursor ? { tenantId, id: LessThan(cursor[0] as string) } : { tenantId },
      order: { id: 'DESC' },
      take: limit + 1,
    });
    return toPage(rows, limit, (a) => [a.id], toAlertResponse);
  }
}
