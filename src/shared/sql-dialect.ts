/**
 * The SQL dialects stepwise reads and runs. It lives in `shared` because the SQL readers here
 * (tokenisers, checks, checksums) take it, and `shared` imports nothing of the core.
 */
/** The SQL dialects a registry can be generated for. */
export type SqlDialect = "sqlite" | "postgres";
