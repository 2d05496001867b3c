// Tenants and their API keys: the operator's management API, and the key lookup the AuthGuard uses.
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Tenant } from './entities/tenant.entity';
import { ApiKey } from './entities/api-key.entity';
import { TenantsService } from './tenants.service';
import { ApiKeysService } from './api-keys.service';
import { TenantsController } from './tenants.controller';
import { ApiKeysController } from './api-keys.controller';

@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey])],
  controllers: [TenantsController, ApiKeysController],
  providers: [TenantsService, ApiKeysService],
  exports: [TenantsService, ApiKeysService],
})
export class TenantsModule {}
