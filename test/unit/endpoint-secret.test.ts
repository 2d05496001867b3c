// Endpoint secrets: generated `whsec_` + 32 random bytes; supplied ones must be 24..64 bytes of base64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { endpointSecretProblem, newEndpointSecret } from '../../src/endpoints/endpoint-secret';

test('generated secrets are whsec_ + base64 of 32 random bytes, all different', () => {
  const a = newEndpointSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(a.slice(6), 'base64').length, 32);
  assert.equal(endpointSecretProblem(a), null);
  assert.notEqual(a, newEndpointSecret());
});

test('supplied secrets: 24 to 64 bytes of padded base64 after whsec_', () => {
  for (const n of [24, 25, 32, 63, 64])
    assert.equal(endpointSecretProblem('whsec_' + randomBytes(n).toString('base64')), null, `${n}`);
  for (const n of [0, 1, 16, 23, 65, 128])
    assert.match(endpointSecretProblem('whsec_' + randomBytes(n).toString('base64'))!, /24 to 64/);
  const b64 = randomBytes(32).toString('base64');
  assert.notEqual(endpointSecretProblem(b64), null, 'no prefix');
  assert.notEqual(endpointSecretProblem('WHSEC_' + b64), null, 'prefix case');
  assert.notEqual(endpointSecretProblem('whsec_' + b64.replace(/=+$/, '')), null, 'unpadded');
  assert.notEqual(endpointSecretProblem('whsec_' + randomBytes(32).toString('base64url')), null);
  assert.notEqual(endpointSecretProblem('whsec_ ' + b64), null, 'space');
  assert.notEqual(endpointSecretProblem(42), null);
  assert.notEqual(endpointSecretProblem(undefined), null);
});
