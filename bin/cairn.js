#!/usr/bin/env node
// cairn: transparent, unprivileged checkpoint/restart. The CLI lives in dist/cli (built by npm install).
// A command sure to start a coordinator boots one first, while the CLI loads (coordinator-spare).
const argv = process.argv.slice(2);
import('../dist/cli/coordinator-spare.js')
  .then((s) => s.bootSpareIfNeeded(argv), () => undefined)
  .then(() => import('../dist/cli/main.js'))
  .then((m) => m.main(argv));
