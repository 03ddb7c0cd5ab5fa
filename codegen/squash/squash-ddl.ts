/** What a dialect's reader gives `stepwise squash`: the schema as DDL in the order a fresh database needs it, and the rows the squashed migrations left. */
import type { SqlDialect } from "../../src/core/types.js";
import { tokenizeSql } from "../../src/shared/postgres-tokens.js";
import { significantTokens } from "../../src/shared/sqlite-tokens.js";
import type { Step } from "../../src/core/step.js";

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
  /** What the reader found that no statement can carry, each as `SQUASH_NOT_FAITHFUL` names it; squash refuses before it writes a line. */
  readonly uncarried?: readonly string[];
}

/** Each of `tables` that holds rows, in the order given, with the INSERTs `inserts` reads for it. */
export function* readSeeds<T extends { readonly name: string }>(tables: readonly T[], inserts: (table: T) => Step<string[]>): Step<SchemaDdl["seeds"][number][]> {
  const seeds: SchemaDdl["seeds"][number][] = [];
  for (const table of tables) {
    const statements = yield* inserts(table);
    if (statements.length > 0) seeds.push({ table: table.name, statements });
  }
  return seeds;
}

/**
 * `views` reordered so each follows the views its text names (creation order otherwise): a view made again (dropped and created, or replaced) may be older than one it reads, and a
 * fresh database refuses a view of one not made yet.
 */
export function orderViews(views: readonly DdlStatement[], dialect: SqlDialect): DdlStatement[] {
  const names = new Set(views.map((view) => view.name.toLowerCase()));
  const reads = new Map(
    views.map((view) => {
      const words = significantTokens(tokenizeSql(view.sql, dialect)).flatMap((token) =>
        token.kind === "word" ? [token.text.toLowerCase()] : token.kind === "quoted-identifier" ? [unquote(token.text).toLowerCase()] : [],
      );
      return [view, new Set(words.filter((word) => names.has(word) && word !== view.name.toLowerCase()))] as const;
    }),
  );
  const ordered: DdlStatement[] = [];
  const made = new Set<string>();
  const pending = [...views];
  while (pending.length > 0) {
    // A cycle cannot be made by any order; creation order then, and the proof names what fails.
    const index = Math.max(
      0,
      pending.findIndex((view) => [...reads.get(view)!].every((name) => made.has(name))),
    );
    const [next] = pending.splice(index, 1);
    ordered.push(next!);
    made.add(next!.name.toLowerCase());
  }
  return ordered;
}

/** A quoted identifier's name: inside `"..."` or a backtick a doubled quote is one (`[...]` has no escape), as the view's name is stored. */
function unquote(text: string): string {
  const inner = text.slice(1, -1);
  return text.startsWith('"') ? inner.replace(/""/g, '"') : text.startsWith("`") ? inner.replace(/``/g, "`") : inner;
}
