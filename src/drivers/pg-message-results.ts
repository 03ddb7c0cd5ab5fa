/**
 * One simple-query message sent through `pg` and read statement by statement: what each statement
 * that completed answered, even when a later one failed. `pg`'s own query reports a failure alone,
 * with nothing of the statements that ran before it; a message of several migrations (the batches
 * of `pg-script-batch.ts`) must know how far it got to name the migration that failed. It is a
 * `pg` Submittable (the interface `pg-cursor` and `pg-query-stream` implement), so the client
 * queues it, sends it and hands it the server's answers like any query, and no type parser, the
 * app's or `pg`'s, reads its values: they arrive as the server's text.
 */
import type pg from "pg";

/** What one statement of the message answered. */
export interface StatementResult {
  /** The names of its result's columns, or `null` when it returned no rows (a DDL, an INSERT). */
  readonly columns: readonly string[] | null;
  /** Its first row's first value, as the server's text (`null` for SQL NULL, or no row). */
  readonly firstValue: string | null;
  /** The rows its command tag counts (`INSERT 0 1` -> 1), or `null` for a tag without a count. */
  readonly rowCount: number | null;
}

/** How a message ended: every statement's answer in order, and the error that stopped it, if one did. */
export interface MessageResults {
  readonly statements: readonly StatementResult[];
  /** The server's error (or the client's, when the connection failed); `null` when every statement completed. */
  readonly error: unknown;
}

/** The connection methods the message needs, as `pg` hands them to a Submittable. */
interface MessageConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
}

/** A command tag: its command word, then an oid and a count (`INSERT`), or a count, or neither. */
const COMMAND_TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

class MessageQuery {
  /**
   * What `pg` sets on a query it times (the client's `query_timeout`): its timer is cleared only when
   * this is called, and until then holds the process open and fires after the query has ended.
   */
  callback?: (error: unknown) => void;
  private readonly statements: StatementResult[] = [];
  private columns: readonly string[] | null = null;
  private firstValue: string | null = null;
  private rowsSeen = false;
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly settle: (results: MessageResults) => void,
  ) {}

  submit(connection: MessageConnection): void {
    connection.query(this.text);
  }

  handleRowDescription(message: { fields: readonly { name: string }[] }): void {
    this.columns = message.fields.map((field) => field.name);
    this.firstValue = null;
    this.rowsSeen = false;
  }

  handleDataRow(message: { fields: readonly unknown[] }): void {
    if (this.rowsSeen) return;
    this.rowsSeen = true;
    const value = message.fields[0];
    this.firstValue = value === null || value === undefined ? null : String(value);
  }

  handleCommandComplete(message: { text: string }): void {
    // The tag's count as pg's own Result reads it: the second number of `INSERT 0 1`, the one of `DELETE 3`.
    const tag = COMMAND_TAG.exec(message.text);
    const count = tag?.[3] ?? tag?.[2];
    this.statements.push({ columns: this.columns, firstValue: this.firstValue, rowCount: count === undefined ? null : Number(count) });
    this.columns = null;
    this.firstValue = null;
    this.rowsSeen = false;
  }

  handleEmptyQuery(): void {}

  // A script's COPY ... FROM STDIN has no data to read here: refuse it, as pg's own query does.
  handleCopyInResponse(connection: MessageConnection): void {
    connection.sendCopyFail("No source stream defined");
  }

  handleCopyData(): void {}

  handlePortalSuspended(): void {}

  // pg clears its active query before handing over an error, so the ReadyForQuery that follows never
  // reaches this query: the error settles it.
  handleError(error: unknown): void {
    this.finish(error);
  }

  handleReadyForQuery(): void {
    this.finish(null);
  }

  private finish(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.callback?.(error);
    this.settle({ statements: this.statements, error });
  }
}

/**
 * Sends `text` as one simple-query message on `client` and resolves with every completed statement's
 * answer and the error that stopped the message, if any; it never rejects.
 */
export function queryMessage(client: pg.ClientBase, text: string): Promise<MessageResults> {
  return new Promise((resolve) => {
    client.query(new MessageQuery(text, resolve) as unknown as pg.Submittable);
  });
}
