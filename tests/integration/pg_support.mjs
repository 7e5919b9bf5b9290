// A throwaway PostgreSQL server for black-box tests of several nodes (multinode.test.mjs,
// nginx-nodes.test.mjs), as scripts/test-postgres starts one: Debian's binaries, initdb as
// `postgres` when run as root, a free loopback port, fsync on; database `parley`, user `parley`
// (trust), logging lock waits longer than deadlock_timeout (1 s) and every deadlock with its
// DETAIL lines; log() reads its server.log. stop() ends it and removes its folder (kept, with its server.log, under
// PARLEY_KEEP_TMP=1). Without the server binaries it throws: the tests FAIL, never skip.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './harness.mjs';

export function pgBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  throw new Error('multinode: PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/install-deps');
}

export async function startPostgres() {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-mn-pg-'));
  fs.chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  const run = (cmd, args) => {
    const argv = asRoot ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 90000 });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr || r.stdout}`);
  };
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'parley', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=on -c synchronous_commit=on -c max_connections=100 -c log_lock_waits=on`;
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
  const stop = () => {
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    } catch {
      // already gone
    }
    if (process.env.PARLEY_KEEP_TMP === '1') process.stderr.write(`kept ${dir} (PostgreSQL's server.log)\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(path.join(bin, 'psql'), ['-qX', '-h', '127.0.0.1', '-p', String(port), '-U', 'parley', '-d', 'postgres', '-c', 'CREATE DATABASE parley']);
  } catch (e) {
    stop();
    throw e;
  }
  const logFile = path.join(dir, 'server.log');
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  return { url: `postgresql://parley@127.0.0.1:${port}/parley`, dataDir: data, stop, log };
}
