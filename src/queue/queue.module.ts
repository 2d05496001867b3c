// Owns the delivery queue; everyone else adds jobs through DeliveryQueue.
import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { DELIVERY_QUEUE, DeliveryQueue } from './delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';

/**
 * How long the queue's Redis clients wait before reconnecting, by attempt. Bull's default grows as
 * e^attempt up to 20 s, so after an outage of ten-odd seconds the queue stayed idle up to 20 s
 * more once Redis was back; a second at most is cheap for a handful of connections.
 */
export function queueReconnectDelayMs(attempt: number): number {
  return Math.min(attempt * 100, 1_000);
}

@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: DELIVERY_QUEUE,
      inject: [TERN_CONFIG],
      useFactory: (config: TernConfig) => ({
        settings: {
          // Far above the HTTP deadline: a job is never taken from a live worker mid-attempt.
          lockDuration: config.deliveryTimeoutMs + 60_000,
          stalledInterval: 30_000,
          maxStalledCount: 2,
        },
      }),
    }),
  ],
  providers: [DeliveryQueue],
  exports: [DeliveryQueue, BullModule],
})
export class QueueModule {}
