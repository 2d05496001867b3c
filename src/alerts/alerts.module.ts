import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { QueueModule } from '../queue/queue.module';
import { AlertsService } from './alerts.service';

@Module({
  imports: [EventsModule, QueueModule],
  providers: [AlertsService],
  exports: [AlertsService],
})
export class AlertsModule {}
