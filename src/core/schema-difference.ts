/** One difference between two schema snapshots, as the safety nets report it and `SCHEMA_DRIFT` carries it. */
/** What kind of schema object a {@link SchemaDifference} is about. */
export type SchemaObjectType = "table" | "column" | "index" | "trigger" | "view" | "sequence" | "function" | "type";
/** One aspect of an object that differs, rendered as text on both sides. */
export interface SchemaAspectChange {
  /** Which property differs: `type`, `not null`, `default`, `definition`, `column order`... */
  readonly aspect: string;
  readonly before: string | null;
  readonly after: string | null;
}
/** One difference between two snapshots, read from `before` to `after`: `added` exists only in `after`, `removed` only in `before`. */
export interface SchemaDifference {
  readonly objectType: SchemaObjectType;
  /** `contacts`, `contacts.nick` for a column, `idx_contacts_username`... */
  readonly name: string;
  readonly table: string;
  readonly change: "added" | "removed" | "changed";
  /** For `changed`: what differs. Empty otherwise. */
  readonly details: readonly SchemaAspectChange[];
}
