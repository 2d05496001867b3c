// Tenants: the operator's customers. Owns the tenants table.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Tenant } from './entities/tenant.entity';

@Injectable()
export class TenantsService {
  constructor(@InjectRepository(Tenant) private readonly tenants: Repository<Tenant>) {}

  async exists(id: string): Promise<boolean> {
    return this.tenants.exists({ where: { id } });
  }
}
