// Body of POST .../endpoints/:endpointId/rotate-secret: optionally the new secret to use.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';

export class RotateSecretDto {
  @ApiPropertyOptional({
    description: '`whsec_` + base64 of 24 to 64 bytes; generated (32 bytes) when absent',
  })
  @IsOptional()
  @IsString()
  secret?: string;
}
