/**
 * The type parsers of every statement stepwise sends through `pg`, passed per query (`types`), so
 * that what an app installs for itself, globally (`pg.types.setTypeParser`) or on its client or
 * pool (`types`), never changes what stepwise reads: a text parser that trims or tags would make
 * `format_type`'s `bigint` something else and refuse a good history table, a `bool` parser that
 * answers a string would read a lock not taken (`'f'`) as taken.
 *
 * pg's registry is global and mutable, so its defaults cannot be asked for: a parser installed before
 * stepwise loads is already the "default". These are written out instead, for exactly the types the
 * server sends for stepwise's statements, as pg's own defaults parse them; every other type arrives
 * as the server's text. `bigint` differs from pg's default on purpose (see {@link parseInt8}).
 */
import type pg from "pg";

/**
 * BIGINT read as a number when JavaScript holds it exactly, else as its decimal text: the contract
 * every driver's `query` keeps (a version past 2^53 is then reported by its exact value).
 */
export function parseInt8(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

const parseInt4 = (text: string): number => parseInt(text, 10);
const parseBool = (text: string): boolean => text === "t";
const asText = (text: string): string => text;

/** By type oid: bool, int8, int2, int4, oid, json, jsonb. */
const PARSERS: ReadonlyMap<number, (text: string) => unknown> = new Map<number, (text: string) => unknown>([
  [16, parseBool],
  [20, parseInt8],
  [21, parseInt4],
  [23, parseInt4],
  [26, parseInt4],
  [114, JSON.parse],
  [3802, JSON.parse],
]);

/**
 * The `types` of stepwise's own queries: {@link PARSERS}, and the server's text for anything else.
 * Results arrive in the text format (stepwise never asks for binary).
 */
export const STEPWISE_QUERY_TYPES = {
  getTypeParser: ((oid: number) => PARSERS.get(oid) ?? asText) as pg.CustomTypesConfig["getTypeParser"],
};
