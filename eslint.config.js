// Flat ESLint config: typed rules, zero warnings (architecture.md §7), and the
// import directions of architecture.md §4 enforced per folder.
import tseslint from "typescript-eslint";

const forbid = (patterns) => ({ "no-restricted-imports": ["error", { patterns }] });

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "test/kurento-client/node_modules/**", "**/*.js", "**/*.cjs", "**/*.mjs"] },
  ...tseslint.configs.recommendedTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      curly: ["error", "all"],
      "no-console": "error",
      "prefer-template": "error",
      "@typescript-eslint/explicit-function-return-type": ["error", { allowExpressions: true }],
      "@typescript-eslint/no-shadow": "error",
      "@typescript-eslint/consistent-type-definitions": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
    },
  },
  { files: ["sdp/**/*.ts"], rules: forbid(["**/sip/**", "**/media/**", "**/src/**", "node:*", "werift*"]) },
  { files: ["sip/**/*.ts"], rules: forbid(["**/media/**", "**/src/**", "werift*", "rtp.js*"]) },
  { files: ["media/**/*.ts"], ignores: ["media/webrtc/**"], rules: forbid(["**/sip/**", "**/src/**", "werift*"]) },
  { files: ["media/webrtc/**/*.ts"], rules: forbid(["**/sip/**", "**/src/**"]) },
  {
    // tap idioms: t.test() returns a promise that tap awaits itself, and each subtest callback shadows `t`.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "no-console": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-floating-promises": "off",
      "@typescript-eslint/no-shadow": ["error", { allow: ["t"] }],
      "@typescript-eslint/require-await": "off",
    },
  },
);
