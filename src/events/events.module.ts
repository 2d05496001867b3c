import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { QueueModule } from '../queue/queue.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

@Module({
  imports: [CatalogModule, QueueModule, DeliveriesModule],
  controllers: [EventsController],
  providers: [EventsService],
  exports: [EventsService],
})
export class EventsModule {}
