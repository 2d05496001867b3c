// Validates the body of `PUT /v1/event-types`: a JSON array of CreateEventTypeDto, each item checked like
// a POST body (unknown fields refused), problems named `[index].field`. The global ValidationPipe skips arrays.
import { Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { FieldProblem, invalid, TernError } from '../../common/errors';
import {
  flattenValidationErrors,
  REFUSED_KEY_MESSAGE,
  refusedKeyPath,
} from '../../common/validation';
import { CreateEventTypeDto } from './event-type.dto';

export const MAX_BULK_EVENT_TYPES = 1000;
const MAX_DETAILS = 100;

@Injectable()
export class EventTypeArrayPipe implements PipeTransform<unknown, Promise<CreateEventTypeDto[]>> {
  async transform(value: unknown): Promise<CreateEventTypeDto[]> {
    if (!Array.isArray(value)) throw invalid('body', 'must be a JSON array of event types');
    if (value.length > MAX_BULK_EVENT_TYPES)
      throw invalid('body', `must hold at most ${MAX_BULK_EVENT_TYPES} event types`);
    const problems: FieldProblem[] = [];
    const items: CreateEventTypeDto[] = [];
    const firstIndexOf = new Map<string, number>();
    for (const [i, raw] of value.entries()) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        problems.push({ field: `[${i}]`, message: 'must be an object' });
        continue;
      }
      // As the global pipe does for a single body (see REFUSED_KEYS).
      const refused = refusedKeyPath(raw, `[${i}]`);
      if (refused !== null) {
        problems.push({ field: refused, message: REFUSED_KEY_MESSAGE });
        continue;
      }
      const item = plainToInstance(CreateEventTypeDto, raw);
      const errors = await validate(item, { whitelist: true, forbidNonWhitelisted: true });
      problems.push(...flattenValidationErrors(errors, `[${i}]`));
      if (typeof item.name === 'string') {
        const first = firstIndexOf.get(item.name);
        if (first !== undefined)
          problems.push({ field: `[${i}].name`, message: `repeats the name of [${first}]` });
        else firstIndexOf.set(item.name, i);
      }
      items.push(item);
    }
    if (problems.length) {
      const shown = problems.slice(0, 5).map((p) => `${p.field}: ${p.message}`);
      if (problems.length > 5) shown.push(`and ${problems.length - 5} more`);
      throw new TernError('invalid', shown.join('; '), problems.slice(0, MAX_DETAILS));
    }
    return items;
  }
}
