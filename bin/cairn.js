#!/usr/bin/env node
// cairn: transparent, unprivileged checkpoint/restart. The CLI lives in dist/cli (built by npm install).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
