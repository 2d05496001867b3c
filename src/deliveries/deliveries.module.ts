// Deliveries and their attempts: the log (read side), the dispatcher's claims and results, and
// what happens to an endpoint's deliveries when the endpoint changes state.
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Delivery } from './entities/delivery.entity';
import { Attempt } from './entities/attempt.entity';
import { DeliveryLifecycleService } from './delivery-lifecycle.service';
import { DeliveryClaimsService } from './delivery-claims.service';
import { DeliveriesService } from './deliveries.service';
import { AllDeliveriesController, TenantDeliveriesController } from './deliveries.controller';

@Module({
  imports: [TypeOrmModule.forFeature([Delivery, Attempt])],
  controllers: [TenantDeliveriesController, AllDeliveriesController],
  providers: [DeliveryLifecycleService, DeliveryClaimsService, DeliveriesService],
  exports: [DeliveryLifecycleService, DeliveryClaimsService, DeliveriesService],
})
export class DeliveriesModule {}
