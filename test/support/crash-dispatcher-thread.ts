// Loaded with --require into an `npm start` process by dispatcher-thread-crash.test.ts: on the
// dispatcher thread only, throws an uncaught error once the file TERN_TEST_CRASH_FILE names exists.
import { existsSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { DISPATCHER_THREAD } from '../../src/dispatch/dispatcher-thread';

const file = process.env.TERN_TEST_CRASH_FILE;
if (file && workerData === DISPATCHER_THREAD) {
  setInterval(() => {
    if (existsSync(file)) throw new Error('crashed by the test');
  }, 50).unref();
}
