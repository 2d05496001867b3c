import { Module } from '@nestjs/common';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { EndpointsService } from './endpoints.service';

@Module({ imports: [DeliveriesModule], providers: [EndpointsService], exports: [EndpointsService] })
export class EndpointsModule {}
