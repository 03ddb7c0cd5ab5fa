import path from "node:path";

/** Forward slashes on every platform, so registry bytes and problem output do not depend on the OS. */
export function toPortablePath(value: string): string {
  return value.split(path.sep).join("/");
}
