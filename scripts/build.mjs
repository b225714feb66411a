// Builds everything `npm install` must build: the native addon (node-gyp), the static
// helpers (make), the protobuf types and the TypeScript.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

// Debian's nodejs ships its headers: build against them rather than downloading any.
const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

// --debug: the addon with ASan+UBSan in native/build/Debug (run node with
// LD_PRELOAD=$(gcc -print-file-name=libasan.so) and CAIRN_ENGINE_BUILD=Debug), nsinit too.
const debug = process.argv.includes('--debug');
run(process.execPath, [path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '--directory', 'native', ...(debug ? ['--debug'] : [])], { env });
run('make', ['-s', '-C', 'native/helpers', ...(debug ? ['DEBUG=1'] : [])]);
run(process.execPath, [path.join(root, 'scripts', 'gen-proto-types.mjs')]);
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
