// TEMP stub until the endpoints branch lands.
import { lookup } from 'node:dns';
export function createGuardedLookup(_allowed: string[]): any {
  return lookup;
}
