// What GET .../alerts answers, built field by field from the alerts table.
import { ApiProperty } from '@nestjs/swagger';

export class AlertResponse {
  @ApiProperty({ example: 'alr_01jc2x8k3v0000000000000000' }) id: string;
  @ApiProperty({ enum: ['tern.delivery.failed', 'tern.endpoint.disabled'] }) type: string;
  @ApiProperty() message: string;
  @ApiProperty({ type: String, nullable: true }) endpointId: string | null;
  @ApiProperty({ type: String, nullable: true }) deliveryId: string | null;
  @ApiProperty({ type: String, nullable: true }) eventId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class AlertPageResponse {
  @ApiProperty({ type: [AlertResponse] }) data: AlertResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
