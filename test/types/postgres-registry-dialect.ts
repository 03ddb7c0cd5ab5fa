/**
 * Type-level test, checked by `npm run typecheck`: a postgres registry says so in its types, the
 * module's `dialect` as the literal "postgres" and every entry's `dialect` as that literal, so code
 * that accepts only one dialect's registry can say so; the sqlite registry's entries keep the optional
 * field every registry had.
 */
import type { SqlDialect } from "../../src/shared/sql-dialect.js";
import type { dialect as postgresDialect, migrations as postgresMigrations } from "../snapshots/golden-registry-postgres.js";
import type { dialect as sqliteDialect, migrations as sqliteMigrations } from "../snapshots/golden-registry.js";

/** True only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type PostgresModuleDialect = Expect<Equal<typeof postgresDialect, "postgres">>;
export type PostgresEntryDialect = Expect<Equal<(typeof postgresMigrations)[number]["dialect"], "postgres">>;
export type SqliteModuleDialect = Expect<Equal<typeof sqliteDialect, "sqlite">>;
export type SqliteEntryDialect = Expect<Equal<(typeof sqliteMigrations)[number]["dialect"], SqlDialect | undefined>>;

// The checks must be able to fail.
// @ts-expect-error the postgres registry is not sqlite
export type RefusesSqlite = Expect<Equal<typeof postgresDialect, "sqlite">>;
// @ts-expect-error an entry's dialect is the literal, not the union
export type RefusesTheUnion = Expect<Equal<(typeof postgresMigrations)[number]["dialect"], SqlDialect>>;
