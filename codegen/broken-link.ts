/**
 * A symbolic link on a path that leads nowhere: a write through it fails with `ENOENT` or `ELOOP`, which reads as "missing" or "not writable" while the path looks present in a listing.
 */
import { lstatSync, readlinkSync, statSync } from "node:fs";
import path from "node:path";
import { tryOr } from "./problems.js";

/** A link that leads nowhere, and what it names. */
export interface BrokenLink {
  /** The link itself, absolute. */
  readonly link: string;
  /** What the link names, as written in it. */
  readonly target: string;
  /** `dangling`: what it names does not exist; `loop`: it leads back to itself (`ELOOP`). */
  readonly kind: "dangling" | "loop";
}

/** The symbolic link on `file`'s path (`file` itself or a folder above it) that leads nowhere, or `null` when there is none. */
export function findBrokenLink(file: string): BrokenLink | null {
  // Only an entry that exists can be a link; below a broken link nothing does, so the walk goes up to it.
  for (let entry = path.resolve(file); path.dirname(entry) !== entry; entry = path.dirname(entry)) {
    if (!tryOr(() => lstatSync(entry).isSymbolicLink(), false)) continue;
    let failure: string | null = null;
    try {
      statSync(entry);
    } catch (error) {
      failure = (error as NodeJS.ErrnoException).code ?? null;
    }
    if (failure !== "ENOENT" && failure !== "ELOOP") continue;
    return { link: entry, target: tryOr(() => readlinkSync(entry), "?"), kind: failure === "ELOOP" ? "loop" : "dangling" };
  }
  return null;
}

/** How a broken link reads in a message: `generated is a symbolic link to "../nowhere", which does not exist`. */
export function describeBrokenLink(broken: BrokenLink, label: string): string {
  const leads = broken.kind === "loop" ? "which leads back to itself" : "which does not exist";
  return `${label} is a symbolic link to ${JSON.stringify(broken.target)}, ${leads}`;
}
