/**
 * Test support: reads the `file:line:col: message [CODE]` lines the bin prints, so end-to-end tests
 * assert on code and position rather than on the message.
 */

/** One printed problem, without its message. */
export interface PrintedProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: string;
}

const PROBLEM_LINE = /^(.+?):(\d+):(\d+): .* \[([A-Z0-9_]+)\]$/;

/** Every problem line in `output`, in printed order; other lines are skipped. */
export function parseProblemLines(output: string): PrintedProblem[] {
  const problems: PrintedProblem[] = [];
  for (const text of output.split(/\r?\n/)) {
    const match = PROBLEM_LINE.exec(text);
    if (match) problems.push({ file: match[1]!, line: Number(match[2]), column: Number(match[3]), code: match[4]! });
  }
  return problems;
}
