import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Delivery } from './entities/delivery.entity';
import { Attempt } from './entities/attempt.entity';
import { DeliveryLifecycleService } from './delivery-lifecycle.service';
import { DeliveryClaimsService } from './delivery-claims.service';

@Module({
  imports: [TypeOrmModule.forFeature([Delivery, Attempt])],
  providers: [DeliveryLifecycleService, DeliveryClaimsService],
  exports: [DeliveryLifecycleService, DeliveryClaimsService],
})
export class DeliveriesModule {}
