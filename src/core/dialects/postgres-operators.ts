/**
 * PostgreSQL's built-in operators and types as stepwise's statements write them: schema-qualified,
 * so nothing on the session's `search_path` can stand in for them.
 *
 * PostgreSQL resolves an unqualified operator, function, type or collation through the `search_path`,
 * and a better-matching candidate in any schema on it wins over `pg_catalog`'s: a `public.=` for
 * `(varchar, varchar)` beats the built-in `text = text` for a `varchar` column even with
 * `pg_catalog` searched first, and a `search_path` that lists `pg_catalog` after another schema lets
 * that schema's `=(bigint, bigint)` decide which history row a `DELETE ... WHERE version = ...` removes.
 * Qualifying each reference costs nothing at run time and changes no session state, where pinning
 * the `search_path` would need a `SET` around every statement (its own round trip, or outside a
 * transaction no `SET LOCAL` at all) and would have to be undone before each migration, whose SQL
 * is the app's and resolves through the app's `search_path` as it always did.
 *
 * Keywords (`bigint`, `int`, `EXTRACT`, `COALESCE`, `CASE`, `EXISTS`) are resolved by the parser to
 * `pg_catalog` whatever the path says; `NULLIF`, `IN` and `CASE x WHEN` look `=` up by name, so
 * stepwise writes them as `CASE WHEN ... OPERATOR(pg_catalog.=) ...`.
 */

/** `=`, `pg_catalog`'s. */
export const EQ = "OPERATOR(pg_catalog.=)";
/** `<>`, `pg_catalog`'s. */
export const NE = "OPERATOR(pg_catalog.<>)";
/** `>`, `pg_catalog`'s. */
export const GT = "OPERATOR(pg_catalog.>)";
/** `||`, `pg_catalog`'s. */
export const CONCAT = "OPERATOR(pg_catalog.||)";
/** `text`, `pg_catalog`'s (not a keyword, so a type named `text` earlier on the path would win). */
export const TEXT = "pg_catalog.text";
/** The `C` collation, `pg_catalog`'s. */
export const COLLATE_C = 'COLLATE pg_catalog."C"';
