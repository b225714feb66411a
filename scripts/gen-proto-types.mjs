// Generates TypeScript types for protos/*.proto into gen/ (proto-loader-gen-types), then
// adds the .js extensions that ESM resolution (NodeNext) needs on relative imports.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'gen');
fs.rmSync(out, { recursive: true, force: true });
const protos = fs.readdirSync(path.join(root, 'protos')).filter((f) => f.endsWith('.proto')).map((f) => path.join('protos', f));
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js'),
    '--longs=String', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js', `--outDir=${out}`, ...protos],
  { cwd: root, stdio: 'inherit' },
);
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
for (const file of walk(out).filter((f) => f.endsWith('.ts'))) {
  const text = fs.readFileSync(file, 'utf8').replace(/from '(\.{1,2}\/[^']+?)(?<!\.js)'/g, "from '$1.js'");
  fs.writeFileSync(file, text);
}
