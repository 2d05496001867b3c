// Query of GET /v1/tenants/:tenantId/endpoints: a page, optionally only enabled or disabled ones.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { PageQuery } from '../../common/pagination';

export class ListEndpointsQuery extends PageQuery {
  @ApiPropertyOptional({ type: Boolean, description: 'only enabled (true) or disabled (false)' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  enabled?: boolean;
}
