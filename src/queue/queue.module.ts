// Owns the delivery queue; everyone else adds jobs through DeliveryQueue.
import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { DELIVERY_QUEUE, DeliveryQueue } from './delivery-queue';
import { TERN_CONFIG, TernConfig } from '../config/config';

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
