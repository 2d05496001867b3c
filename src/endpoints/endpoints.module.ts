// Endpoints and their subscriptions; exports EndpointsService for the dispatcher and replays. The
// fan-out itself is read by the ingest statement (src/events/insert-events.statement.ts).
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Endpoint } from './entities/endpoint.entity';
import { EndpointSubscription } from './entities/endpoint-subscription.entity';
import { EndpointsService } from './endpoints.service';
import { EndpointsController } from './endpoints.controller';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { QueueModule } from '../queue/queue.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([Endpoint, EndpointSubscription]),
    DeliveriesModule,
    QueueModule,
  ],
  controllers: [EndpointsController],
  providers: [EndpointsService],
  exports: [EndpointsService],
})
export class EndpointsModule {}
