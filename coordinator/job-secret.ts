// The coordinator's side of the job secret: reuse the one the user gave (environment) or
// the one already in the checkpoint directory (a restart), else make one, so that the CLI
// run later from the same --ckptdir finds it.
import fs from 'node:fs';
import { newSecret, readSecretFile, secretPath, writeSecret } from '../common/secret.js';

export function loadOrCreateSecret(ckptDir: string): string {
  const env = process.env.CAIRN_SECRET?.trim();
  if (env) return env;
  const file = secretPath(ckptDir);
  if (fs.existsSync(file)) return readSecretFile(file);
  fs.mkdirSync(ckptDir, { recursive: true, mode: 0o700 });
  const secret = newSecret();
  writeSecret(ckptDir, secret);
  return secret;
}
