import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
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
