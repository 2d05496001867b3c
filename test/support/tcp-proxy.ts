// A TCP proxy on 127.0.0.1 that fault tests put between Tern and Postgres or Redis, to cut the
// dependency without touching the shared servers: `pause()` refuses new connections and resets the
// open ones (a crashed or restarting server), `blackhole()` accepts connections but lets no byte
// through either way (a network partition: the client only notices by its own timeouts; bytes are
// held back, as TCP would retransmit them, and flow again on `resume()`), and `resume()` forwards
// again on the same port.
import { createServer, connect, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';

export type ProxyState = 'forwarding' | 'refusing' | 'blackholed' | 'closed';

export interface TcpProxy {
  /** The port clients connect to; it stays the same across pause() and resume(). */
  readonly port: number;
  readonly state: ProxyState;
  /** Client connections currently open through the proxy. */
  readonly connections: number;
  /** Connections accepted since the start (forwarded or not). */
  readonly accepted: number;
  /** `url` with its host and port replaced by the proxy's (e.g. a DATABASE_URL or REDIS_URL). */
  url(url: string): string;
  /** Stops listening (new connections are refused) and resets every open connection. */
  pause(): Promise<void>;
  /** Keeps accepting, but nothing is forwarded either way: connections hang until their owner gives up. */
  blackhole(): Promise<void>;
  /** Forwards again (listening on the same port if it was paused). */
  resume(): Promise<void>;
  /**
   * A one-shot trap: on the next connection whose client sends `after`, the next message holding
   * `on` still reaches the server, but the server's answer to it is dropped and the client's
   * connection is reset (the server sees it close gracefully). Resolves once it has sprung.
   * E.g. `{after: 'INSERT INTO events', on: 'COMMIT'}`: the commit happens, its answer is lost.
   */
  loseAnswer(trap: { after: string; on: string }): Promise<void>;
  /**
   * A one-shot trap: the next message holding `on` never reaches the server; its connection is
   * reset instead (the statement is not run, the client sees its connection die).
   */
  dropRequest(on: string): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  sawAfter?: boolean;
  doomed?: boolean;
}

interface Trap {
  /** Lose the answer (the request runs) or drop the request (it does not). */
  kind: 'lose-answer' | 'drop-request';
  after: Buffer | null;
  on: Buffer;
  sprung: () => void;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let state: ProxyState = 'forwarding';
  let accepted = 0;
  let server: Server | null = null;
  let port = 0;
  let trap: Trap | null = null;

  const drop = (p: Pair) => {
    pairs.delete(p);
    p.client.destroy();
    p.upstream.destroy();
  };

  const onConnection = (client: Socket) => {
    accepted++;
    client.setNoDelay(true);
    const upstream = connect({ port: targetPort, host: targetHost });
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    forward(client, upstream, (chunk) => {
      if (!trap) return true;
      if (trap.kind === 'drop-request') {
        if (!chunk.includes(trap.on)) return true;
        spring(pair);
        return false;
      }
      if (!pair.sawAfter) pair.sawAfter = chunk.includes(trap.after!);
      else if (chunk.includes(trap.on)) pair.doomed = true;
      return true;
    });
    forward(upstream, client, () => {
      if (!pair.doomed || !trap) return true;
      spring(pair);
      return false;
    });
    if (state === 'blackholed') hold(pair);
    // Either side closing closes the other once what it sent is flushed; an error resets both.
    client.on('close', () => {
      pairs.delete(pair);
      upstream.end();
    });
    upstream.on('close', () => {
      pairs.delete(pair);
      client.end();
    });
    client.on('error', () => drop(pair));
    upstream.on('error', () => drop(pair));
  };

  /** Resets the client's side; the server's side closes gracefully, after what it already got. */
  const spring = (pair: Pair) => {
    const sprung = trap!.sprung;
    trap = null;
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.end();
    sprung();
  };

  // By hand rather than pipe(): pipe would resume a socket a blackhole paused when the other drains.
  const forward = (from: Socket, to: Socket, inspect: (chunk: Buffer) => boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (!inspect(chunk) || to.destroyed || to.write(chunk)) return;
      from.pause();
      to.once('drain', () => {
        if (state !== 'blackholed') from.resume();
      });
    });
  };

  // A paused socket is not read: its bytes wait in the kernel, and the sender's writes back up.
  const hold = (p: Pair) => {
    p.client.pause();
    p.upstream.pause();
  };
  const release = (p: Pair) => {
    p.client.resume();
    p.upstream.resume();
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        server = s;
        port = (s.address() as AddressInfo).port;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
    });

  const resetAll = () => {
    for (const p of [...pairs]) {
      pairs.delete(p);
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
    }
  };

  await listen();

  return {
    get port() {
      return port;
    },
    get state() {
      return state;
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    url(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async pause() {
      state = 'refusing';
      const closing = stopListening();
      resetAll();
      await closing;
    },
    async blackhole() {
      if (!server) await listen();
      state = 'blackholed';
      for (const p of pairs) hold(p);
    },
    async resume() {
      if (state === 'closed') throw new Error('the proxy is closed');
      if (!server) await listen();
      state = 'forwarding';
      for (const p of pairs) release(p);
    },
    loseAnswer({ after, on }) {
      return new Promise<void>((resolve) => {
        trap = {
          kind: 'lose-answer',
          after: Buffer.from(after),
          on: Buffer.from(on),
          sprung: resolve,
        };
      });
    },
    dropRequest(on) {
      return new Promise<void>((resolve) => {
        trap = { kind: 'drop-request', after: null, on: Buffer.from(on), sprung: resolve };
      });
    },
    async close() {
      state = 'closed';
      const closing = stopListening();
      resetAll();
      await closing;
    },
  };
}
