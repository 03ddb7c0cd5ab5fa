// ESLint flat config: rules that catch real bugs, plus the library rules of the project brief (no
// `console`, `process.exit` or `process.cwd()` outside the CLI entry points). Formatting is
// prettier's job (`npm run format:check`), so no stylistic rules here.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** The brief's side-effect ban, as `no-restricted-properties` entries. */
const LIBRARY_SIDE_EFFECTS = [
  { object: "process", property: "exit", message: "Library code never exits the process: throw a typed StepwiseError and let the CLI entry map it to an exit code." },
  { object: "process", property: "cwd", message: "Library code takes paths as options (projectRoot, cwd) instead of reading the process's working directory." },
];

export default defineConfig(
  { ignores: ["dist/", "docs-api/", "node_modules/", "generated/", "test/fixtures/", "test/snapshots/", "bench/results/", "**/*.d.ts"] },
  // A Worker, type-checked against the Workers types by its own tsconfig (test/cloudflare-example.test.ts).
  { ignores: ["examples/cloudflare-worker/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Promises: a dropped or misused one is a migration that runs after its transaction committed.
      // node:test's test()/describe()/it() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] }] }],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-import-type-side-effects": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      // Step generators that finish without yielding (inline) are still steps.
      "require-yield": "off",
      // Rejecting control characters in paths and names is deliberate here (hostile-input checks).
      "no-control-regex": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // Library code: everything under src/ and codegen/ except the CLI and its entry point.
    files: ["src/**/*.ts", "codegen/**/*.ts"],
    ignores: ["src/cli/**", "codegen/bin.ts", "src/example-app.ts"],
    rules: {
      "no-console": "error",
      "no-restricted-properties": ["error", ...LIBRARY_SIDE_EFFECTS],
      "no-restricted-globals": ["error", { name: "console", message: "Library code reports through events and the injected logger, never the console." }],
    },
  },
  {
    // A function a reader can hold on one screen: past this, split it where its steps are.
    files: ["src/**/*.ts", "codegen/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 90, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: "readonly", console: "readonly", import: "readonly" } },
  },
);
