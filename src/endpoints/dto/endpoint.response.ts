// What the endpoint routes answer. Built explicitly from rows, so the secret appears only where
// a route means to show it (creation and rotation).
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class EndpointResponse {
  @ApiProperty({ example: 'ep_01jc2x4k5m6n7p8q9r0s1t2v3w' }) id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty({ example: 'https://hooks.example.com/tern' }) url: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: [String], example: ['order.completed', 'invoice.*'] })
  eventTypes: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  headers: Record<string, string>;
  @ApiProperty() enabled: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the endpoint is disabled ("disabled by API", or what Tern saw)',
  })
  disabledReason: string | null;
  @ApiProperty({ type: Number, nullable: true }) rateLimitPerSecond: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class CreatedEndpointResponse extends EndpointResponse {
  @ApiProperty({ description: 'The signing secret, shown only here and on rotation' })
  secret: string;
}

export class EndpointSecretResponse {
  @ApiProperty({ description: 'The new signing secret; the previous one keeps signing for 24 h' })
  secret: string;
}

export class EndpointPage {
  @ApiProperty({ type: [EndpointResponse] }) data: EndpointResponse[];
  @ApiPropertyOptional({ type: String, nullable: true }) nextCursor: string | null;
}
