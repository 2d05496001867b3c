// Deliveries: the log's read side (DeliveriesService) and what endpoint state changes do to
// deliveries (DeliveryLifecycleService). Owns the deliveries and attempts tables.
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Delivery } from './entities/delivery.entity';
import { Attempt } from './entities/attempt.entity';
import { DeliveryLifecycleService } from './delivery-lifecycle.service';
import { DeliveriesService } from './deliveries.service';
import { AllDeliveriesController, TenantDeliveriesController } from './deliveries.controller';

@Module({
  imports: [TypeOrmModule.forFeature([Delivery, Attempt])],
  controllers: [TenantDeliveriesController, AllDeliveriesController],
  providers: [DeliveryLifecycleService, DeliveriesService],
  exports: [DeliveryLifecycleService, DeliveriesService],
})
export class DeliveriesModule {}
