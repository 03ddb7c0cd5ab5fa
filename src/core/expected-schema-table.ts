/**
 * The name of the table verify's expected-schema cache lives in (see
 * `safety/expected-schema-cache.ts`). Here, in the core, so the one list of stepwise's own tables
 * (`stepwiseTableNames`) names it without pulling the safety nets into the runtime.
 */

/**
 * The cache table for the history table `tableName`: `<tableName>_expected_schema`.
 *
 * @example
 * expectedSchemaTableName("schema_migrations"); // "schema_migrations_expected_schema"
 */
export function expectedSchemaTableName(tableName: string): string {
  return `${tableName}_expected_schema`;
}
