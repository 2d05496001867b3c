// Deliveries pages are filled to 50 % on insert instead of 80 %, so that a claim finds room for its
// new row version on the row's own page and stays a heap-only (HOT) update, with no index writes
// (migrations/1732370000000-HotClaims.ts). At 80 % an 8 KB page keeps about 1.6 KB free, room for
// the claimed versions of a few of its rows; the others moved to another page and wrote an entry
// into every index of deliveries (seven), as a claim did before HotClaims. Only 23 % of updates
// were HOT, where a claim and a result write per delivery would make half of them HOT.
// `node bench/replay-statements.js`, alternated, two runs each (Postgres CPU per delivery; HOT share
// of updates; table and indexes per delivery):
//   fillfactor 80: 96, 93 us (claim 31, 26 us); 23 %; 1,043 bytes
//   fillfactor 65: 90, 89 us (claim 23, 22 us); 31 %; 1,032 bytes
//   fillfactor 50: 83, 85 us (claim 16, 18 us); 46 %; 1,016 bytes
//   fillfactor 40: 81, 83 us (claim 19, 14 us); 50 %; 1,065 bytes (the heap grows)
// Streaming through `npm start` (`node bench/threads.js --single`, two alternated pairs): 24-26 % of
// updates HOT at 80 %, 49-50 % at 50 %; Postgres 120, 122 us per delivery at 80 %, 98, 110 at 50 %;
// and the table is smaller, not larger: 456-465 bytes of heap and 1,437 with its indexes per
// delivery at 80 %, 435-441 and 1,351-1,353 at 50 %, since a claim that is not HOT writes an entry
// into each of the seven indexes. (The first session tried 50 % just after making claims HOT, found
// about 88 % of claims HOT at 80 % while streaming, and took it back for 40 % more heap; the code
// and its batches have changed since, and that is no longer what a stream does.) Rows that are
// never updated (an endpoint that never answers) leave their page's free half unused until they
// are deleted.
// A new fillfactor applies to pages filled from now on; existing pages are left as they are (no
// rewrite, no lock beyond the ALTER's own brief one).
import { MigrationInterface, QueryRunner } from 'typeorm';

export class RoomForHotClaims1732420000000 implements MigrationInterface {
  name = 'RoomForHotClaims1732420000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 80)`);
  }
}
