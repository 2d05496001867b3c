// Upkeep of Tern's own database that every process takes part in (see TableStatisticsService).
import { Module } from '@nestjs/common';
import { TableStatisticsService } from './table-statistics.service';

@Module({ providers: [TableStatisticsService] })
export class DatabaseModule {}
