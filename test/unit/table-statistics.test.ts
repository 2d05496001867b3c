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
    ]),
    ['never_analyzed', 'doubled'],
  );
});

test('a young table is analyzed coarsely while small, with the default target once past COARSE_ROWS', () => {
  assert.equal(analyzeTarget(MIN_CHANGES), COARSE_TARGET);
  assert.equal(analyzeTarget(COARSE_ROWS - 1), COARSE_TARGET);
  assert.equal(analyzeTarget(COARSE_ROWS), null);
  assert.equal(analyzeTarget(YOUNG_ROWS - 1), null);
});
