import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preparedStatement } from '../../src/database/prepared-statement';

test('a prepared statement name goes with one text: declaring it twice is refused', () => {
  const s = preparedStatement('tern_unit_test_statement', 'SELECT 1');
  assert.deepEqual(s, { name: 'tern_unit_test_statement', text: 'SELECT 1' });
  assert.throws(() => preparedStatement('tern_unit_test_statement', 'SELECT 2'), /declared twice/);
});
