// The worker role: queue processors, the dispatcher and the sweeper.
import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { AlertsModule } from '../alerts/alerts.module';
import { DispatcherService } from './dispatcher.service';
import { DeliveryOutcomes } from './delivery-outcomes.service';
import { SweeperService } from './sweeper.service';
import { DeliveryProcessor } from './delivery.processor';

@Module({
  imports: [QueueModule, DeliveriesModule, EndpointsModule, AlertsModule],
  providers: [DispatcherService, DeliveryOutcomes, SweeperService, DeliveryProcessor],
  exports: [DispatcherService, SweeperService],
})
export class DispatchModule {}
