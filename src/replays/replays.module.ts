import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { QueueModule } from '../queue/queue.module';
import { ReplaysController } from './replays.controller';
import { ReplaysService } from './replays.service';

@Module({
  imports: [EventsModule, EndpointsModule, QueueModule],
  controllers: [ReplaysController],
  providers: [ReplaysService],
})
export class ReplaysModule {}
