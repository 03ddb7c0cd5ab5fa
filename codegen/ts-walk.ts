/**
 * Walks over syntax trees on a stack of their own rather than the call stack: a seed migration's `"…" +` chain of thousands of terms nests as deep as it is long, which a recursive walk (four
 * frames a level through `forEachChild`) overflows while TypeScript itself parses and compiles it.
 */
import { ts } from "ts-morph";
import { addProblems, problemAt, type Problem } from "./problems.js";

/** A node's children in source order, as `ts.forEachChild` visits them. */
export function childrenOf(node: ts.Node): ts.Node[] {
  const children: ts.Node[] = [];
  ts.forEachChild(node, (child) => {
    // A truthy return would stop forEachChild.
    children.push(child);
  });
  return children;
}

/**
 * `root` and every node under it, each before its children, in the order a recursive walk meets them; the children of a node `descend` refuses are left out.
 */
export function* preorder(root: ts.Node, descend: (node: ts.Node) => boolean = () => true): Generator<ts.Node> {
  const pending: ts.Node[] = [root];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    yield node;
    if (!descend(node)) continue;
    // Not push(...): a file of 100,000 statements would pass as many arguments.
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]!);
  }
}

/**
 * `read(file)`, or `null` after adding `TS_TOO_DEEPLY_NESTED` at `file` to `problems` when it ran out of stack: TypeScript's parser is recursive, so thousands of `? :`, `else if`, parentheses or
 * calls nested in one another overflow it (and `tsc`) however stepwise walks the tree.
 */
export function readNestedCode<T>(file: string, problems: Problem[], read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RangeError) || !/call stack/i.test(error.message)) throw error;
    const message =
      'this file nests code too deeply for TypeScript\'s parser, which ran out of stack reading it (tsc would too): thousands of "? :" or "else if" in a chain, or parentheses or calls inside one another; flatten it (an array of strings joined, a lookup object, a switch), or move seed data into a .sql migration';
    return addProblems(problems, problemAt("TS_TOO_DEEPLY_NESTED", file, message));
  }
}
