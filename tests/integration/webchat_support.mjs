// Starts `parley serve` plus `parley client webchat` as that server's client webhook, for the
// webchat's black-box and browser tests.
import readline from 'node:readline';
import { Server, spawnCli, waitFor } from './harness.mjs';

// Runs `parley client webchat` for `conn` against `parleyUrl`; resolves once it printed its
// "webchat on" line. The secret goes through the environment, not the argument list.
export async function startWebchat({ parleyUrl, conn, secret = conn.jwt_secret, args = [] }) {
  const child = spawnCli(
    ['client', 'webchat', '--port', '0', '--parley-url', parleyUrl, '--connection-id', conn.connection_id, ...args],
    { env: { PARLEY_WEBCHAT_SECRET: secret } },
  );
  const stdoutLines = [];
  const stderrLines = [];
  child.stderr.on('data', (chunk) => stderrLines.push(...chunk.toString().split('\n').filter(Boolean)));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`webchat did not start: ${stderrLines.join('\n')}`)), 20000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      stdoutLines.push(line);
      const m = /^webchat on (http:\/\/\S+)$/.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`webchat exited with ${code} before starting: ${stderrLines.join('\n')}`));
    });
  });
  return {
    url,
    child,
    exited,
    stdoutLines,
    stderrLines,
    // SIGTERM; resolves with {code, signal, ms}, or throws when it takes more than 10 s.
    async stop() {
      const t0 = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), ms: 0 };
      child.kill('SIGTERM');
      let timer;
      const r = await Promise.race([
        exited,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve('deadline'), 10000);
        }),
      ]);
      clearTimeout(timer);
      if (r === 'deadline') {
        child.kill('SIGKILL');
        throw new Error('webchat did not exit within 10 s of SIGTERM');
      }
      return { ...r, ms: Date.now() - t0 };
    },
  };
}

// A parley server, a connection whose bot is `bot`, and a webchat as its client webhook.
export async function startWebchatFixture({ bot = 'echo', serverArgs = [] } = {}) {
  const server = await Server.start({ args: serverArgs });
  let webchat;
  try {
    // The webhook is set once the webchat runs and its port is known.
    const conn = await server.createConnection({ webhook: 'http://127.0.0.1:9/not-yet', bot });
    webchat = await startWebchat({ parleyUrl: server.url, conn });
    const r = await server.admin('PATCH', `/api/v1/connections/${conn.connection_id}`, {
      client_webhook: `${webchat.url}/webhook`,
    });
    if (r.status !== 200) throw new Error(`PATCH connection: ${r.status} ${r.text}`);
    return {
      server,
      conn,
      webchat,
      async close() {
        await webchat.stop().catch(() => {});
        await server.stop().catch(() => {});
        await server.cleanup();
      },
    };
  } catch (e) {
    await webchat?.stop().catch(() => {});
    await server.cleanup();
    throw e;
  }
}

export { waitFor };
