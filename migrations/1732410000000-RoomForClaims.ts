// Deliveries pages are filled to half on insert (80 % before), so that claims stay heap-only (see
// HotClaims). One claim statement updates a whole batch of neighbouring rows, and the old versions
// it leaves cannot be pruned until it commits: at 80 % a page had room for the new versions of only
// a quarter of its rows, and the other claims wrote a new entry into every index. Replaying the hot
// statements into a fresh database (bench/replay-statements.js): HOT updates went from 22 % to
// 47 % of all updates (claims are half of them), the claim from 52 to 27-30 us of Postgres per
// delivery. The table is no larger for it: the versions that did not fit went to other pages.
// Pages already written keep their layout; the setting applies to pages filled from now on.
import { MigrationInterface, QueryRunner } from 'typeorm';

export class RoomForClaims1732410000000 implements MigrationInterface {
  name = 'RoomForClaims1732410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 80)`);
  }
}
