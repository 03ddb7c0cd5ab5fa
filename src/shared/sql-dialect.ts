/** The SQL dialects a registry can be generated for. */
export type SqlDialect = "sqlite" | "postgres";
