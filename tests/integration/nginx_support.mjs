// Debian's nginx for black-box tests of deploy/nginx/ (nginx.test.mjs, nginx-nodes.test.mjs):
// a self-signed certificate made by openssl, an nginx.conf around a site file, nginx started in
// the foreground under a folder of its own, and an HTTP(S) client that trusts the certificate.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

export const NGINX = '/usr/sbin/nginx';
export const nginxMissing = !fs.existsSync(NGINX) ? `${NGINX} is missing (scripts/install-deps installs nginx)` : null;

// A certificate for 127.0.0.1, valid a day: { cert, key } paths and the PEM to trust (ca).
export function selfSigned(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key, ca: fs.readFileSync(cert) };
}

// Starts nginx with `site` (the text of a site file) under `dir`; checks the config first
// (`nginx -t`). Returns { accessLog, stop }.
export async function startNginx(dir, site) {
  for (const d of ['tmp', 'logs']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'site.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${path.join(dir, 'tmp', t)};`)
    .join('\n');
  const errorLog = path.join(dir, 'logs/error.log');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;\nworker_processes 1;\npid ${path.join(dir, 'nginx.pid')};\nerror_log ${errorLog} warn;\n` +
      `events { worker_connections 256; }\nhttp {\n  access_log ${path.join(dir, 'logs/access.log')};\n${temp}\n  include ${path.join(dir, 'site.conf')};\n}\n`,
  );
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog];
  execFileSync(NGINX, ['-t', ...args], { stdio: 'pipe' });
  const nginx = spawn(NGINX, args, { stdio: 'ignore' });
  const exited = new Promise((resolve) => nginx.on('exit', resolve));
  return {
    accessLog: path.join(dir, 'logs/access.log'),
    errorLog,
    stop: async () => {
      nginx.kill('SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      nginx.kill('SIGKILL');
    },
  };
}

export function request(url, { method = 'GET', headers = {}, body, ca, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method, headers, ca, localAddress, timeout: 10000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
