// The package version, for the user-agent and the OpenAPI document.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
})();
