/**
 * Type-level test, checked by `npm run typecheck` (and so by `npm run lint` and CI), not by
 * `npm test`: the generated `MigrationVersion` is exactly the union of the golden fixture's versions,
 * no wider and no narrower, and `latestVersion` is the literal highest one.
 */
import type { VersionOf } from "stepwise-migrate";
import type { MigrationVersion, latestVersion, migrations } from "../snapshots/golden-registry.js";

/** True only when A and B are the same type; a plain mutual `extends` would accept `any`. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type VersionsAreTheFixtures = Expect<Equal<MigrationVersion, 1 | 2 | 3 | 4 | 5>>;
export type VersionsMatchTheEntries = Expect<Equal<VersionOf<typeof migrations>, MigrationVersion>>;
export type LatestIsALiteral = Expect<Equal<typeof latestVersion, 5>>;

// The checks above must be able to fail: a union with one version too many or too few is refused.
// @ts-expect-error 6 is not a version of the fixture
export type RefusesAnExtraVersion = Expect<Equal<MigrationVersion, 1 | 2 | 3 | 4 | 5 | 6>>;
// @ts-expect-error 5 is a version of the fixture
export type RefusesAMissingVersion = Expect<Equal<MigrationVersion, 1 | 2 | 3 | 4>>;
// @ts-expect-error number is wider than the union
export type RefusesPlainNumber = Expect<Equal<MigrationVersion, number>>;
// @ts-expect-error any is not the union
export type RefusesAny = Expect<Equal<MigrationVersion, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the point of the check

/** An app can use the type to refuse a version its registry lacks at compile time. */
export function pickVersion(version: MigrationVersion): MigrationVersion {
  return version;
}
// @ts-expect-error 7 is not a version of the fixture
pickVersion(7);
