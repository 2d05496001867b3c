import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeTarget,
  COARSE_ROWS,
  COARSE_TARGET,
  MIN_CHANGES,
  tablesToAnalyze,
  YOUNG_ROWS,
} from '../../src/database/table-statistics.service';

test('a young table is analyzed once its live rows have doubled, an old one never', () => {
  assert.deepEqual(
    tablesToAnalyze([
      { table: 'never_analyzed', analyzed: -1, live: MIN_CHANGES },
      { table: 'analyzed_empty', analyzed: 0, live: MIN_CHANGES - 1 },
      { table: 'doubled', analyzed: 20_000, live: 40_000 },
      { table: 'not_yet', analyzed: 20_000, live: 39_999 },
      { table: 'old', analyzed: YOUNG_ROWS, live: 10 * YOUNG_ROWS },
    ]).map((r) => r.table),
    ['never_analyzed', 'doubled'],
  );
});

test('a log table is analyzed coarsely under COARSE_ROWS, with the default past it; other tables always with the default', () => {
  for (const table of ['events', 'deliveries', 'attempts']) {
    assert.equal(analyzeTarget(table, MIN_CHANGES), COARSE_TARGET);
    assert.equal(analyzeTarget(table, COARSE_ROWS - 1), COARSE_TARGET);
    assert.equal(analyzeTarget(table, COARSE_ROWS), null);
    assert.equal(analyzeTarget(table, YOUNG_ROWS - 1), null);
  }
  for (const table of ['tenants', 'endpoints', 'endpoint_subscriptions', 'alerts'])
    assert.equal(analyzeTarget(table, MIN_CHANGES), null);
});
