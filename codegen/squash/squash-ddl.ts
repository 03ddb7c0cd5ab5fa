/** What a dialect's reader gives `stepwise squash`: the schema as DDL in the order a fresh database needs it, and the rows the squashed migrations left. */

/** One statement of the schema. */
export interface DdlStatement {
  /** `table`, `index`, `view`, `trigger`, `sequence`, `function`, `type`, `extension`, `constraint`... */
  readonly kind: string;
  readonly name: string;
  readonly sql: string;
}

/** The schema a replay built, as statements: those the rows need first, the rows, then the rest. */
export interface SchemaDdl {
  readonly statements: readonly DdlStatement[];
  /** Each table that holds rows, with one INSERT per row, in table order. */
  readonly seeds: readonly { readonly table: string; readonly statements: readonly string[] }[];
  /** After the rows: indexes, views and triggers (so loading the rows fires none), PostgreSQL's constraints and where each sequence stands. */
  readonly after: readonly DdlStatement[];
}
