// `npm start` runs the API and the dispatcher in one process, each on a thread of its own: the
// dispatcher is src/worker.ts on a worker thread. On one event loop, every trigger waited behind
// the dispatcher's sends and result writes (and they behind it): the process delivered a fifth
// less than the API and a worker as two processes (bench/run.js). The API thread asks this thread
// for its metrics on every scrape, and waits for it to drain before the process exits.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** What the dispatcher thread and the API thread say to each other. */
export type ToDispatcherThread = { type: 'metrics'; id: number } | { type: 'stop' };
export type FromDispatcherThread =
  | { type: 'ready' }
  | { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] };

/** Marks the worker thread's workerData, so src/worker.ts knows it runs on one. */
export const DISPATCHER_THREAD = 'tern-dispatcher-thread';

export interface DispatcherThread {
  /** Its metrics, for the API's /metrics (empty after it stopped). */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** Lets attempts in flight finish (SHUTDOWN_GRACE_MS), records them, and ends the thread. */
  stop(): Promise<void>;
}

/**
 * Starts the dispatcher on a worker thread and resolves once it runs. `onCrash` is called if the
 * thread ends without being asked to: the process cannot deliver any more and should exit.
 */
export function startDispatcherThread(
  env: NodeJS.ProcessEnv,
  onCrash: (why: string) => void,
): Promise<DispatcherThread> {
  const worker = new Worker(join(__dirname, '..', 'worker.js'), {
    env,
    workerData: DISPATCHER_THREAD,
  });
  const asked = new Map<number, (m: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  let nextId = 0;
  let stopping: Promise<void> | null = null;
  let exited = false;
  const send = (m: ToDispatcherThread) => worker.postMessage(m);

  return new Promise<DispatcherThread>((resolve, reject) => {
    let ready = false;
    worker.on('message', (m: FromDispatcherThread) => {
      if (m.type === 'ready') {
        ready = true;
        resolve({
          metrics: () =>
            exited
              ? Promise.resolve([])
              : new Promise((answer) => {
                  const id = nextId++;
                  asked.set(id, answer);
                  send({ type: 'metrics', id });
                }),
          stop: () => {
            stopping ??= exited
              ? Promise.resolve()
              : new Promise<void>((done) => {
                  worker.once('exit', () => done());
                  send({ type: 'stop' });
                });
            return stopping;
          },
        });
      } else if (m.type === 'metrics') {
        asked.get(m.id)?.(m.metrics);
        asked.delete(m.id);
      }
    });
    worker.on('error', (e) => {
      if (!ready) reject(new Error(`dispatcher thread: ${e.message}`));
      else if (!stopping) onCrash(`dispatcher thread failed: ${e.message}`);
    });
    worker.on('exit', (code) => {
      exited = true;
      for (const answer of asked.values()) answer([]);
      asked.clear();
      if (!ready) reject(new Error(`dispatcher thread exited with code ${code} while starting`));
      else if (!stopping) onCrash(`dispatcher thread exited with code ${code}`);
    });
  });
}
