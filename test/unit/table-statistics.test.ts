import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MIN_CHANGES,
  tablesToAnalyze,
  YOUNG_ROWS,
} from '../../src/database/table-statistics.service';

test('a young table is analyzed once it has at least doubled, an old one never', () => {
  assert.deepEqual(
    tablesToAnalyze([
      { table: 'never_analyzed', rows: -1, changed: MIN_CHANGES },
      { table: 'analyzed_empty', rows: 0, changed: MIN_CHANGES - 1 },
      { table: 'doubled', rows: 20_000, changed: 20_000 },
      { table: 'not_yet', rows: 20_000, changed: 19_999 },
      { table: 'old', rows: YOUNG_ROWS, changed: 10 * YOUNG_ROWS },
    ]),
    ['never_analyzed', 'doubled'],
  );
});
