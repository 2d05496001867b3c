// Swagger helpers: the contract's error body, declared once for the statuses a route can answer.
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';

export class ErrorResponseDto {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ example: 'Bad Request' }) error: string;
  @ApiProperty({ example: 'url: must be an http or https URL' }) message: string;
  @ApiPropertyOptional({
    description: 'For 400 and 422: each bad field',
    example: [{ field: 'url', message: 'must be an http or https URL' }],
  })
  details?: unknown;
}

const WHY: Record<number, string> = {
  400: 'Malformed or invalid input; details name each bad field',
  401: 'Missing or invalid API key',
  404: 'Not found (or not yours)',
  409: 'Conflict',
  413: 'Body or payload too large',
  415: 'Body is not JSON',
  422: 'Event rejected by the catalog: unknown type or payload fails its JSON Schema',
  429: 'Too many requests for this API key (API_RATE_LIMIT_PER_SECOND); wait Retry-After seconds',
  503: 'Postgres or Redis is unreachable; nothing was accepted or changed. Try again',
};

export const ErrorResponses = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: WHY[status] ?? STATUS_CODES[status],
        type: ErrorResponseDto,
      }),
    ),
  );

/** One error status with a route-specific description, answered with the contract's error body. */
export const ErrorResponse = (status: number, description?: string) =>
  ApiResponse({ status, description: description ?? WHY[status], type: ErrorResponseDto });

/**
 * For controllers behind an API key: bearer security, and the answers every such route can give
 * (the guard's 401 and 429, and 503 when Postgres or Redis is down).
 */
export const ApiKeyAuth = () => applyDecorators(ApiBearerAuth(), ErrorResponses(401, 429, 503));
