// Resolving and vetting targets, and the guarded lookup that makes a socket connect only to a
// vetted address (a real net.connect to a real server on 127.0.0.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, Server, AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer } from 'node:http';
import { Agent, request } from 'undici';
import { createGuardedLookup, resolveAndVet, TargetError } from '../../src/net/resolve';

const fakeDns =
  (answers: Record<string, LookupAddress[]>) =>
  async (host: string): Promise<LookupAddress[]> => {
    const a = answers[host];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a;
  };

const DNS = fakeDns({
  'public.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ],
  'mixed.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '10.0.0.7', family: 4 },
  ],
  'loop-mixed.test': [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ],
  'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  'empty.test': [],
});

async function refusal(p: Promise<unknown>): Promise<TargetError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TargetError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

describe('resolveAndVet', () => {
  test('literal IPs skip DNS, in every numeric form', async () => {
    const noDns = async () => assert.fail('DNS must not be used for a literal');
    assert.deepEqual(await resolveAndVet('93.184.215.14', [], noDns), [
      { address: '93.184.215.14', family: 4 },
    ]);
    assert.deepEqual(await resolveAndVet('[2606:4700::1111]', [], noDns), [
      { address: '2606:4700::1111', family: 6 },
    ]);
    for (const host of ['127.0.0.1', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', '[::1]']) {
      const e = await refusal(resolveAndVet(host, [], noDns));
      assert.equal(e.kind, 'refused');
      assert.match(e.message, /^target (127\.0\.0\.1|::1) \(loopback\) is not allowed$/, host);
    }
    assert.deepEqual(await resolveAndVet('0x7f.1', ['127.0.0.0/8'], noDns), [
      { address: '127.0.0.1', family: 4 },
    ]);
  });

  test('a name whose addresses are all public is allowed, every address returned', async () => {
    assert.deepEqual(await resolveAndVet('public.test', [], DNS), [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
  });

  test('one forbidden address refuses the whole name', async () => {
    const e = await refusal(resolveAndVet('mixed.test', [], DNS));
    assert.equal(e.kind, 'refused');
    assert.equal(
      e.message,
      'target mixed.test resolves to 10.0.0.7 (private), which is not allowed',
    );
    // 127.0.0.0/8 opens the IPv4 half only: ::1 still refuses the name
    const e2 = await refusal(resolveAndVet('loop-mixed.test', ['127.0.0.0/8'], DNS));
    assert.match(e2.message, /resolves to ::1 \(loopback\)/);
    assert.equal(
      (await resolveAndVet('loop-mixed.test', ['127.0.0.0/8', '::1/128'], DNS)).length,
      2,
    );
  });

  test('an IPv4-mapped answer is judged as the IPv4 address', async () => {
    const e = await refusal(resolveAndVet('mapped.test', [], DNS));
    assert.match(e.message, /link-local \(cloud metadata\) \(IPv4-mapped of 169\.254\.169\.254\)/);
  });

  test('DNS failures say so', async () => {
    const e = await refusal(resolveAndVet('nowhere.test', [], DNS));
    assert.equal(e.kind, 'unresolvable');
    assert.equal(e.code, 'ENOTFOUND');
    assert.equal(e.message, 'target nowhere.test could not be resolved (ENOTFOUND)');
    const e2 = await refusal(resolveAndVet('empty.test', [], DNS));
    assert.match(e2.message, /resolved to no address/);
  });

  test('localhost (real DNS) is refused without an allowed range', async () => {
    const e = await refusal(resolveAndVet('localhost', []));
    assert.match(e.message, /^target localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
  });

  test('localhost (real DNS) with only 127.0.0.0/8 open: allowed only if it has no ::1', async () => {
    const { promises } = await import('node:dns');
    const real = await promises.lookup('localhost', { all: true, verbatim: true });
    const p = resolveAndVet('localhost', ['127.0.0.0/8']);
    if (real.some((a) => a.family === 6)) {
      const e = await refusal(p);
      assert.match(e.message, /resolves to ::1 \(loopback\)/);
    } else {
      assert.deepEqual(await p, real);
    }
  });

  test('a real unresolvable name fails clearly', async () => {
    const e = await refusal(resolveAndVet('no-such-host.invalid', []));
    assert.equal(e.kind, 'unresolvable');
    assert.match(e.message, /^target no-such-host\.invalid could not be resolved/);
  });
});

describe('createGuardedLookup', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  // A name that resolves to 127.0.0.1 only, whatever the machine's hosts file says.
  const LOCAL = fakeDns({ 'receiver.test': [{ address: '127.0.0.1', family: 4 }] });

  function dial(lookup: ReturnType<typeof createGuardedLookup>, autoSelectFamily: boolean) {
    return new Promise<{ data: string; remote: string | undefined }>((resolve, reject) => {
      const socket = connect({ host: 'receiver.test', port, lookup, autoSelectFamily });
      let data = '';
      let remote: string | undefined;
      socket.on('connect', () => (remote = socket.remoteAddress));
      socket.on('data', (c) => (data += c));
      socket.on('end', () => resolve({ data, remote }));
      socket.on('error', reject);
    });
  }

  for (const autoSelectFamily of [false, true]) {
    test(`connects to the vetted address when 127.0.0.0/8 is allowed (autoSelectFamily ${autoSelectFamily})`, async () => {
      const got = await dial(createGuardedLookup(['127.0.0.0/8'], LOCAL), autoSelectFamily);
      assert.deepEqual(got, { data: 'hello', remote: '127.0.0.1' });
    });

    test(`the connection is refused without the range (autoSelectFamily ${autoSelectFamily})`, async () => {
      await assert.rejects(dial(createGuardedLookup([], LOCAL), autoSelectFamily), (e: unknown) => {
        assert.ok(e instanceof TargetError);
        assert.equal(e.code, 'ETARGETREFUSED');
        assert.match(e.message, /receiver\.test resolves to 127\.0\.0\.1 \(loopback\)/);
        return true;
      });
    });
  }

  test('with the system resolver: localhost is connected to when allowed, refused when not', async () => {
    const { promises } = await import('node:dns');
    const real = await promises.lookup('localhost', { all: true, verbatim: true });
    const allowed = ['127.0.0.0/8', '::1/128'];
    if (real.every((a) => a.address === '127.0.0.1' || a.address === '::1')) {
      const got = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: 'localhost', port, lookup: createGuardedLookup(allowed) });
        let data = '';
        socket.on('data', (c) => (data += c));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.equal(got, 'hello');
    }
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect({ host: 'localhost', port, lookup: createGuardedLookup([]) });
        socket.on('connect', resolve);
        socket.on('error', reject);
      }),
      /loopback/,
    );
  });

  test('honours options.all and options.family', async () => {
    const lookup = createGuardedLookup([], DNS);
    const call = (options: object) =>
      new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
        lookup('public.test', options, (err, address, family) => resolve({ err, address, family })),
      );
    assert.deepEqual(await call({ all: true }), {
      err: null,
      address: [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
      family: undefined,
    });
    assert.deepEqual(await call({}), { err: null, address: '93.184.215.14', family: 4 });
    assert.deepEqual(await call({ family: 6 }), {
      err: null,
      address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
      family: 6,
    });
    assert.deepEqual(await call({ family: 'IPv6', all: true }), {
      err: null,
      address: [{ address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }],
      family: undefined,
    });
    assert.deepEqual(await call({ all: true, family: 4 }), {
      err: null,
      address: [{ address: '93.184.215.14', family: 4 }],
      family: undefined,
    });
    const bad = await new Promise<Error | null>((resolve) =>
      createGuardedLookup([], DNS)('mixed.test', { all: true }, (err) => resolve(err)),
    );
    assert.ok(bad instanceof TargetError);
  });
});

describe('createGuardedLookup as undici connect.lookup (how the sender uses it)', () => {
  test('a request by host name reaches the vetted address, or fails before connecting', async () => {
    const server = createHttpServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dns = fakeDns({ 'receiver.test': [{ address: '127.0.0.1', family: 4 }] });
    const allowed = new Agent({ connect: { lookup: createGuardedLookup(['127.0.0.0/8'], dns) } });
    const refused = new Agent({ connect: { lookup: createGuardedLookup([], dns) } });
    try {
      const res = await request(`http://receiver.test:${port}/`, { dispatcher: allowed });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'ok');
      await assert.rejects(
        request(`http://receiver.test:${port}/`, { dispatcher: refused }),
        (e: unknown) => e instanceof TargetError && /loopback/.test(e.message),
      );
    } finally {
      await allowed.close();
      await refused.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
