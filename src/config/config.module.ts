// Makes the validated TernConfig injectable everywhere as TERN_CONFIG (and through @nestjs/config).
import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TERN_CONFIG, TernConfig } from './config';

@Global()
@Module({})
export class TernConfigModule {
  static forRoot(config: TernConfig): DynamicModule {
    return {
      module: TernConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          load: [() => ({ tern: config })],
        }),
      ],
      providers: [{ provide: TERN_CONFIG, useValue: config }],
      exports: [TERN_CONFIG],
    };
  }
}
