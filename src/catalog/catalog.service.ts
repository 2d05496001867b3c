// TEMP stub until the mgmt branch lands.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import Ajv, { ValidateFunction } from 'ajv';

@Injectable()
export class CatalogService {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  constructor(private readonly ds: DataSource) {}
  async getActiveType(
    name: string,
  ): Promise<{ name: string; schema: object | null; reserved: boolean } | null> {
    const rows = await this.ds.query(
      `SELECT name, schema, reserved FROM event_types WHERE name = $1 AND archived_at IS NULL`,
      [name],
    );
    return rows[0] ?? null;
  }
  async validator(name: string): Promise<ValidateFunction | null> {
    const t = await this.getActiveType(name);
    return t?.schema ? this.ajv.compile(t.schema) : null;
  }
}
