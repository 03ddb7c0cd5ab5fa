/** The workload's modules, bundled into every side program by `bench/workload.ts`. */
declare module "workload:registry" {
  /** What `stepwise gen` wrote for the workload. */
  export const migrations: import("stepwise-migrate").MigrationRegistry;
}

declare module "workload:migrations" {
  /** The same migrations as plain data: what the hand loop and the peers with an in-memory source take. */
  export const migrations: readonly { readonly version: number; readonly name: string; readonly up: string; readonly down: string }[];
}

declare module "workload:fleet-migrations" {
  /** The fleet bench's five migrations, in each dialect: what the hand-written fleet sides apply. */
  export const migrations: readonly { readonly version: number; readonly name: string; readonly sqlite: string; readonly postgres: string }[];
}
