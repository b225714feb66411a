// The cairn command line (yargs). Each command lives in cli/commands/, loaded only when it
// runs: every cairn command starts a Node process, and the others' modules (the engine,
// gRPC, ssh2) would cost each of them ~0.1 s.
import yargs, { type Argv } from 'yargs';
import { UserError } from '../common/errors.js';
import { CAIRN_VERSION } from '../common/paths.js';
import { fail } from './output.js';
import { splitLaunchArgv } from './launch-argv.js';

const coordOptions = (y: Argv) =>
  y
    .option('coord-host', { alias: 'h', type: 'string', describe: 'coordinator host (CAIRN_COORD_HOST, default localhost)' })
    .option('coord-port', { alias: 'p', type: 'number', describe: 'coordinator port (CAIRN_COORD_PORT, default 7779; 0 = any)' })
    .option('port-file', { type: 'string', describe: 'file the coordinator writes its port to' })
    .option('ckptdir', { type: 'string', describe: 'checkpoint directory (CAIRN_CHECKPOINT_DIR, default: current directory)' });

/** Runs one command; returns its exit status. */
async function run(argv: string[]): Promise<number> {
  argv = splitLaunchArgv(argv);
  let result: Promise<number> = Promise.resolve(0);
  const parser = yargs(argv)
    .scriptName('cairn')
    .version(CAIRN_VERSION)
    .strict()
    .help('help')
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .command(
      'launch',
      'run a program under cairn (foreground; exits with its status)',
      (y) =>
        coordOptions(y)
          .parserConfiguration({ 'populate--': true, 'duplicate-arguments-array': false })
          .usage('cairn launch [options] PROGRAM [ARGS...]')
          .option('new-coordinator', { type: 'boolean', default: false, describe: 'start a new coordinator (fails if the port is taken)' })
          .option('interval', { alias: 'i', type: 'number', describe: 'checkpoint every S seconds (CAIRN_CHECKPOINT_INTERVAL)' })
          .option('compress', { type: 'string', describe: 'page data codec for this job\'s checkpoints: zstd[:LEVEL], gzip[:LEVEL], none (CAIRN_COMPRESS; default none; --compress alone: zstd)' })
          .option('gzip', { type: 'boolean', describe: 'DMTCP habit: --gzip = --compress gzip, --no-gzip = --compress none (DMTCP_GZIP)' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false })
          .option('hosts', { type: 'string', describe: 'run the program on each of these hosts (a,b,c), agents started over ssh' })
          .option('hostfile', { type: 'string', describe: 'as --hosts, one host per line (MPI hostfiles work)' })
          .option('secret-stdin', { type: 'boolean', hidden: true, describe: 'the job secret is the first line of stdin' }),
      (a) => {
        const args = { hosts: a.hosts, hostfile: a.hostfile, secretStdin: a['secret-stdin'], command: ((a['--'] as unknown[] | undefined) ?? []).map(String), newCoordinator: a['new-coordinator'], coordHost: a['coord-host'], coordPort: a['coord-port'], portFile: a['port-file'], interval: a.interval, ckptdir: a.ckptdir, gzip: a.gzip, compress: a.compress, quiet: a.quiet };   // now: yargs reuses what it parsed
        result = import('./commands/launch.js').then((c) => c.launch(args));
      },
    )
    .command(
      'restart [targets..]',
      'restart a job from a checkpoint directory, job directory, generation or images',
      (y) =>
        coordOptions(y)
          .option('new-coordinator', { type: 'boolean', default: false })
          .option('interval', { alias: 'i', type: 'number', describe: 'checkpoint every S seconds' })
          .option('compress', { type: 'string', describe: 'page data codec for later checkpoints: zstd[:LEVEL], gzip[:LEVEL], none (default: CAIRN_COMPRESS, else the codec of the images)' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false })
          .positional('targets', { type: 'string', array: true })
          .option('hosts', { type: 'string', describe: 'restart the hosts of the checkpoint, taken in name order (node1, node2, node10...), on these hosts (a,b,c)' })
          .option('hostfile', { type: 'string', describe: 'as --hosts, one host per line' })
          .option('host-map', { type: 'string', describe: 'OLD=NEW,...: where each old host\'s processes come back' })
          .option('only-host', { type: 'string', hidden: true, describe: 'restore only the processes of this host of the checkpoint' })
          .option('secret-stdin', { type: 'boolean', hidden: true }),
      (a) => {
        const args = { hosts: a.hosts, hostfile: a.hostfile, hostMap: a['host-map'], onlyHost: a['only-host'], secretStdin: a['secret-stdin'], targets: (a.targets as string[] | undefined)?.map(String) ?? [], newCoordinator: a['new-coordinator'], coordHost: a['coord-host'], coordPort: a['coord-port'], portFile: a['port-file'], interval: a.interval, ckptdir: a.ckptdir, compress: a.compress, quiet: a.quiet };   // now: yargs reuses what it parsed
        result = import('./commands/restart.js').then((c) => c.restart(args));
      },
    )
    .command(
      'command',
      'send a command to a running coordinator',
      (y) =>
        coordOptions(y)
          .option('checkpoint', { alias: 'c', type: 'boolean', describe: 'checkpoint now' })
          .option('bcheckpoint', { type: 'boolean', describe: 'checkpoint now and wait until it is written' })
          .option('compress', { type: 'string', describe: 'with --checkpoint/--bcheckpoint: page data codec for this checkpoint: zstd[:LEVEL], gzip[:LEVEL], none (default: each agent\'s own)' })
          .option('status', { alias: 's', type: 'boolean', describe: 'show the job and coordinator status' })
          .option('list', { alias: 'l', type: 'boolean', describe: 'list the job\'s members and processes' })
          .option('kill', { alias: 'k', type: 'boolean', describe: 'kill the job' })
          .option('quit', { alias: 'q', type: 'boolean', describe: 'kill the job and stop the coordinator' })
          .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }),
      (a) => {
        const args = { checkpoint: a.checkpoint, bcheckpoint: a.bcheckpoint, status: a.status, list: a.list, kill: a.kill, quit: a.quit, json: a.json, compress: a.compress, coordHost: a['coord-host'], coordPort: a['coord-port'], portFile: a['port-file'], ckptdir: a.ckptdir };   // now: yargs reuses what it parsed
        result = import('./commands/command.js').then((c) => c.command(args));
      },
    )
    .command(
      'status',
      'same as cairn command --status',
      (y) => coordOptions(y).option('json', { type: 'boolean', default: false }),
      (a) => {
        const args = { status: true, json: a.json, coordHost: a['coord-host'], coordPort: a['coord-port'], portFile: a['port-file'], ckptdir: a.ckptdir };   // now: yargs reuses what it parsed
        result = import('./commands/command.js').then((c) => c.command(args));
      },
    )
    .command(
      'coordinator',
      'run a coordinator',
      (y) =>
        y
          .option('coord-port', { alias: ['p', 'port'], type: 'number', describe: 'port (0 = any; default 7779)' })
          .option('port-file', { type: 'string', describe: 'write the port here once listening' })
          .option('daemon', { type: 'boolean', default: false, describe: 'run in the background' })
          .option('exit-on-last', { type: 'boolean', default: false, describe: 'exit when the job\'s last member leaves' })
          .option('starter-pid', { type: 'number', hidden: true, describe: 'with --exit-on-last: exit if this process dies before any job joined' })
          .option('interval', { alias: 'i', type: 'number', describe: 'checkpoint every S seconds' })
          .option('ckptdir', { type: 'string', describe: 'checkpoint directory (default: current directory)' })
          .option('keep', { type: 'number', default: 2, describe: 'generations to keep' })
          .option('phase-timeout', { type: 'number', default: 60, describe: 'seconds a member may take for a barrier phase' })
          .option('ready-fd', { type: 'number', hidden: true }),
      (a) => {
        const args = { coordPort: a['coord-port'], portFile: a['port-file'], daemon: a.daemon, exitOnLast: a['exit-on-last'], interval: a.interval, ckptdir: a.ckptdir, keep: a.keep, phaseTimeout: a['phase-timeout'], readyFd: a['ready-fd'], starterPid: a['starter-pid'] };   // now: yargs reuses what it parsed
        result = import('./commands/coordinator.js').then((c) => c.coordinator(args));
      },
    )
    .command(
      'inspect [targets..]',
      'show what a checkpoint holds (same targets as restart)',
      (y) =>
        y
          .option('json', { type: 'boolean', default: false, describe: 'one JSON document for tools' })
          .option('verify', { type: 'boolean', default: false, describe: 'also check every page run\'s crc32c' })
          .option('ckptdir', { type: 'string', describe: 'checkpoint directory when no target is given (default: current directory)' })
          .positional('targets', { type: 'string', array: true }),
      (a) => {
        const args = { targets: (a.targets as string[] | undefined)?.map(String) ?? [], json: a.json, verify: a.verify, ckptdir: a.ckptdir };   // now: yargs reuses what it parsed
        result = import('./commands/inspect.js').then((c) => c.inspect(args));
      },
    )
    .demandCommand(1, 'name a command: launch, command, restart, coordinator, status, inspect')
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg, 'cairn --help', 2);
    });
  await parser.parseAsync();
  return result;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const status = await run(argv);
    process.exitCode = status;
  } catch (e) {
    fail(e);
  }
}
