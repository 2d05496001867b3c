import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Tenant } from './entities/tenant.entity';
import { ApiKey } from './entities/api-key.entity';
import { TenantsService } from './tenants.service';
import { ApiKeysService } from './api-keys.service';

@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey])],
  providers: [TenantsService, ApiKeysService],
  exports: [TenantsService, ApiKeysService],
})
export class TenantsModule {}
