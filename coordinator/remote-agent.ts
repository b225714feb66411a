// One cairn agent started on another host over ssh (ssh2), with the user's own ssh setup:
// ~/.ssh/config, ssh-agent (SSH_AUTH_SOCK), ~/.ssh/id_* and known_hosts. The job secret
// goes down the channel's stdin, never onto a command line. Closing an ssh connection
// leaves a remote command without a pty running, so stop() ends the agent explicitly.
import fs from 'node:fs';
import net from 'node:net';
import { Client, type AnyAuthMethod, type ClientChannel } from 'ssh2';
import { checkHostKey, rememberHostKey } from '../common/known-hosts.js';
import { sshHostConfig, type SshHostConfig } from '../common/ssh-config.js';

const CONNECT_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3000;

/** POSIX sh single quoting. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function keyType(blob: Buffer): string {
  try {
    const n = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + n).toString('latin1');
  } catch {
    return 'ssh-unknown';
  }
}

function authMethods(cfg: SshHostConfig): AnyAuthMethod[] {
  const methods: AnyAuthMethod[] = [];
  if (process.env.SSH_AUTH_SOCK) methods.push({ type: 'agent', username: cfg.user, agent: process.env.SSH_AUTH_SOCK });
  for (const f of cfg.identityFiles) {
    try {
      methods.push({ type: 'publickey', username: cfg.user, key: fs.readFileSync(f) });
    } catch {
      // a listed key that does not exist is skipped, as ssh does
    }
  }
  return methods;
}

export type RemoteState = 'connecting' | 'running' | 'exited' | 'lost' | 'failed';

export class RemoteAgent {
  state: RemoteState = 'connecting';
  remotePid = 0;
  exitInfo = '';
  /** Our address on the connection: how this host is reached from the remote one. */
  localAddress = '';
  private conn = new Client();
  private channel?: ClientChannel;
  private stopping = false;

  constructor(
    readonly host: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Connects; resolves with the local address the remote host sees us at. */
  connect(): Promise<string> {
    const cfg = sshHostConfig(this.host);
    const strict = cfg.strictHostKeyChecking;
    return new Promise((resolve, reject) => {
      const sock = net.connect(cfg.port, cfg.hostName);
      let hostKeyProblem = '';
      const fail = (why: string) => {
        this.state = 'failed';
        sock.destroy();
        reject(new Error(`ssh ${this.host}: ${hostKeyProblem || why}`));
      };
      sock.once('error', (e) => fail(e.message));
      sock.once('connect', () => {
        this.localAddress = sock.localAddress ?? '';
        this.conn
          .on('ready', () => resolve(this.localAddress))
          .on('error', (e) => fail(e.message))
          .connect({
            sock,
            username: cfg.user,
            readyTimeout: CONNECT_TIMEOUT_MS,
            keepaliveInterval: 5000,
            keepaliveCountMax: 3,
            authHandler: authMethods(cfg),
            hostVerifier: (key: Buffer) => {
              if (strict === 'no' || strict === 'off') return true;
              const verdict = checkHostKey(cfg.knownHostsFiles, [cfg.alias, cfg.hostName], cfg.port, key);
              if (verdict === 'known') return true;
              if (verdict === 'unknown' && strict === 'accept-new' && cfg.knownHostsFiles[0] && cfg.knownHostsFiles[0] !== '/dev/null') {
                rememberHostKey(cfg.knownHostsFiles[0], cfg.hostName, cfg.port, keyType(key), key);
                return true;
              }
              hostKeyProblem = verdict === 'changed'
                ? `the host key of ${cfg.hostName} does not match known_hosts (StrictHostKeyChecking ${strict})`
                : `${cfg.hostName} is not in known_hosts (StrictHostKeyChecking ${strict}): ssh to it once, or set StrictHostKeyChecking accept-new for it in ~/.ssh/config`;
              return false;
            },
          });
      });
    });
  }

  /** Runs argv remotely in cwd with `stdinLine` as its first line of input; resolves once
   * the remote shell reported its PID. */
  start(cwd: string, argv: string[], stdinLine: string, logFile: string): Promise<void> {
    // The shell prints its PID, then becomes the agent (exec keeps the PID), so that
    // stop() can kill it by PID even if ssh's signal request is not honoured. The agent's
    // and the job's output go to a log file on the shared filesystem, not down the ssh
    // channel: the job must outlive this connection (a lost coordinator), and writing to a
    // closed channel would kill it with EPIPE/SIGPIPE.
    const wrapped = `echo CAIRN-AGENT-PID $$; exec >>${shQuote(logFile)} 2>&1; cd ${shQuote(cwd)} && exec ${argv.map(shQuote).join(' ')}`;
    return new Promise((resolve, reject) => {
      this.conn.exec(wrapped, (err, ch) => {
        if (err) {
          this.state = 'failed';
          reject(new Error(`ssh ${this.host}: ${err.message}`));
          return;
        }
        this.channel = ch;
        let first = '';
        let started = false;
        const onLine = (line: string) => this.log(`[${this.host}] ${line}`);
        let outBuf = '';
        ch.on('data', (d: Buffer) => {
          if (!started) {
            first += d.toString();
            const m = /CAIRN-AGENT-PID (\d+)\n/.exec(first);
            if (!m) return;
            this.remotePid = Number(m[1]);
            this.state = 'running';
            started = true;
            outBuf = first.slice(m.index + m[0].length);
            resolve();
          } else {
            outBuf += d.toString();
          }
          const lines = outBuf.split('\n');
          outBuf = lines.pop() ?? '';
          lines.forEach(onLine);
        });
        let errBuf = '';
        ch.stderr.on('data', (d: Buffer) => {
          errBuf += d.toString();
          const lines = errBuf.split('\n');
          errBuf = lines.pop() ?? '';
          lines.forEach(onLine);
        });
        ch.on('close', (code: number | null, signal?: string) => {
          this.exitInfo = signal ? `signal ${signal}` : `status ${code ?? '?'}`;
          // Killed by a signal (kill -9, host gone) unless we stopped it: lost.
          if (this.state === 'running' || this.state === 'connecting') this.state = this.stopping || !signal ? 'exited' : 'lost';
          if (!started) reject(new Error(`ssh ${this.host}: the agent ended before it started (${this.exitInfo})`));
          this.conn.end();
        });
        ch.write(`${stdinLine}\n`);
      });
    });
  }

  /** The connection broke (host gone, sshd killed): the agent counts as lost. */
  onLost(cb: (why: string) => void): void {
    this.conn.on('close', () => {
      if (this.state === 'running' && !this.stopping) {
        this.state = 'lost';
        cb(`the ssh connection to ${this.host} closed`);
      }
    });
  }

  /** Ends the remote agent: TERM over the channel, then KILL by PID, then disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.state !== 'running' || !this.channel) {
      this.conn.end();
      return;
    }
    const closed = new Promise<void>((resolve) => this.channel!.once('close', () => resolve()));
    try {
      this.channel.signal('TERM');
    } catch {
      // not supported by this server: the KILL below does it
    }
    const done = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS))]);
    if (!done && this.remotePid > 0) {
      await new Promise<void>((resolve) => {
        this.conn.exec(`kill -KILL ${this.remotePid}`, (err, ch) => {
          if (err) return resolve();
          ch.on('close', () => resolve()).resume();
        });
      });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    }
    this.conn.end();
  }
}
