// Test harness: builds assistd (once per process, unless ASSISTD_BIN is
// set), creates a fresh data dir with two projects (A and B), starts
// `assistd serve` on a free port and stops it with SIGTERM, asserting that
// the shutdown was graceful (exit code 0). startDevModel runs the scripted
// model (`assistd dev-model`) and startRunServer pairs one with a serve
// whose OPENAI_BASE_URL points at it, so that runs execute.
//
// Backend: SQLite in the data dir by default. When
// ASSISTD_CONFORMANCE_DATABASE_URL (postgres://…) is set, every server gets
// a fresh PostgreSQL schema of its own (pgschema/, built once per process
// unless ASSISTD_PGSCHEMA_BIN is set), `keys create` and `serve` get
// `--database <url>?options=-csearch_path=<schema>`, and stop() drops the
// schema. File blobs still live in the server's data dir.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';

const execFileP = promisify(execFile);

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

let builtBin; // promise of the binary path, shared by every server in this process

/** The PostgreSQL database the servers use, or '' for SQLite. */
export const DATABASE_URL = process.env.ASSISTD_CONFORMANCE_DATABASE_URL ?? '';
/** Every schema this process creates starts with this (run.js sweeps leftovers by it). */
export const SCHEMA_PREFIX = process.env.ASSISTD_CONFORMANCE_SCHEMA_PREFIX ?? 'assistd_conf_';
/** Which backend the servers use, for messages. */
export const BACKEND = DATABASE_URL ? 'PostgreSQL' : 'SQLite';

let builtPgschema;

/** Returns the pgschema helper: $ASSISTD_PGSCHEMA_BIN, or a fresh `go build` (once per process). */
export function pgschemaBinary() {
  if (process.env.ASSISTD_PGSCHEMA_BIN) return Promise.resolve(path.resolve(process.env.ASSISTD_PGSCHEMA_BIN));
  builtPgschema ??= buildBinary(undefined, './test/conformance/pgschema', 'pgschema');
  return builtPgschema;
}

/** Creates a fresh schema in DATABASE_URL; returns {schema, url, drop()}. */
export async function freshSchema() {
  const bin = await pgschemaBinary();
  const { stdout } = await execFileP(bin, ['create', DATABASE_URL, SCHEMA_PREFIX]);
  const [schema, url] = stdout.trim().split('\n');
  if (!schema || !url) throw new Error(`pgschema create printed ${JSON.stringify(stdout)}`);
  let dropped = null;
  const drop = () => (dropped ??= execFileP(bin, ['drop', DATABASE_URL, schema]));
  return { schema, url, drop };
}

/** Returns the assistd binary: $ASSISTD_BIN, or a fresh `go build` (once per process). */
export function assistdBinary() {
  if (process.env.ASSISTD_BIN) return Promise.resolve(path.resolve(process.env.ASSISTD_BIN));
  builtBin ??= buildBinary();
  return builtBin;
}

/** Builds pkg (./cmd/assistd) into a new temp dir (or outDir) and returns the binary's path. */
export async function buildBinary(outDir, pkg = './cmd/assistd', name = 'assistd') {
  const dir = outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `${name}-bin-`));
  const bin = path.join(dir, name);
  try {
    await execFileP('go', ['build', '-o', bin, pkg], {
      cwd: REPO_ROOT,
      maxBuffer: 16 << 20,
    });
  } catch (err) {
    throw new Error(`go build ${pkg} failed:\n${err.stderr || err.message}`);
  }
  if (!outDir) {
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return bin;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs `assistd keys create` (plus args) and returns the key (stdout must be exactly one line). */
export async function createKey(bin, dataDir, project, args = []) {
  const { stdout } = await execFileP(bin, ['keys', 'create', '--data', dataDir, '--project', project, ...args]);
  const key = stdout.trim();
  if (key.includes('\n')) {
    throw new Error(`keys create: expected exactly one line on stdout, got ${JSON.stringify(stdout)}`);
  }
  if (!key || /\s/.test(key)) throw new Error(`keys create: bad key ${JSON.stringify(stdout)}`);
  return key;
}

/**
 * Starts a server with a fresh data dir (and, on PostgreSQL, a fresh schema). Returns
 * {baseURL, origin, port, dataDir, schema, keyA, keyB, clientA, clientB, client(key, opts), stderr(), stop()}.
 */
export async function startServer(opts = {}) {
  if (!DATABASE_URL) return startServerOn(opts, null);
  const db = await freshSchema();
  try {
    const srv = await startServerOn(opts, db);
    const stopServer = srv.stop;
    let stopped = null;
    srv.stop = () => (stopped ??= stopServer().finally(() => db.drop()));
    return srv;
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  }
}

async function startServerOn({ env = {}, args = [] }, db) {
  const bin = await assistdBinary();
  const dbArgs = db ? ['--database', db.url] : [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assistd-data-'));
  const keyA = await createKey(bin, dataDir, 'A', dbArgs);
  const keyB = await createKey(bin, dataDir, 'B', dbArgs);
  if (keyA === keyB) throw new Error('keys create returned the same key for two projects');

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const baseURL = `${origin}/v1`;

  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...dbArgs, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo = null;
  exited.then((e) => (exitInfo = e));

  // Wait until it answers HTTP: GET /v1/assistants with key A → 200.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastErr = '';
  for (;;) {
    if (exitInfo) {
      throw new Error(`assistd serve exited early (${JSON.stringify(exitInfo)}):\n${out}`);
    }
    try {
      const r = await fetch(`${baseURL}/assistants`, {
        headers: { Authorization: `Bearer ${keyA}`, 'OpenAI-Beta': 'assistants=v2' },
        signal: AbortSignal.timeout(2000),
      });
      await r.arrayBuffer();
      if (r.status === 200) break;
      lastErr = `HTTP ${r.status}`;
    } catch (err) {
      lastErr = String(err?.cause?.code ?? err);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`assistd serve not ready after ${READY_TIMEOUT_MS} ms (last: ${lastErr}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const client = (apiKey, opts = {}) => new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: Number(process.env.ASSISTD_TEST_TIMEOUT_MS ?? 10_000), ...opts });

  let stopped = null;
  const stop = () => {
    stopped ??= (async () => {
      if (!exitInfo) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const e = await exited;
      clearTimeout(timer);
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (e.code !== 0) {
        throw new Error(`assistd serve did not shut down gracefully on SIGTERM: ${JSON.stringify(e)}\n${out}`);
      }
      return e;
    })();
    return stopped;
  };

  return {
    bin,
    port,
    origin,
    baseURL,
    dataDir,
    schema: db?.schema,
    keyA,
    keyB,
    clientA: client(keyA),
    clientB: client(keyB),
    client,
    logs: () => out,
    stop,
  };
}

/** Raw HTTP helper: fetch(baseURL + p) with key and v2 beta header by default; returns {status, headers, body, text}. */
export async function raw(srv, method, p, { key = srv.keyA, body, headers = {}, beta = 'assistants=v2' } = {}) {
  const h = { Authorization: `Bearer ${key}`, ...headers };
  if (beta) h['OpenAI-Beta'] = beta;
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array) && !(body instanceof FormData)) {
    payload = JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
  }
  const r = await fetch(srv.baseURL + p, { method, headers: h, body: payload });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, body: json, text };
}

/**
 * Starts `assistd dev-model` on a free port with `script` (an object, written
 * to a temp JSON file; omitted → the built-in echo). Returns
 * {port, origin, baseURL, scriptPath, logs(), stop()}; baseURL ends with /v1.
 * stop() sends SIGTERM and fails unless the process exits 0.
 */
export async function startDevModel({ script, latency, tokensPerSecond, env = {} } = {}) {
  const bin = await assistdBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'assistd-devmodel-'));
  const args = [];
  let scriptPath;
  if (script !== undefined) {
    scriptPath = path.join(dir, 'script.json');
    fs.writeFileSync(scriptPath, typeof script === 'string' ? script : JSON.stringify(script, null, 2));
    args.push('--script', scriptPath);
  }
  if (latency !== undefined) args.push('--latency', String(latency));
  if (tokensPerSecond !== undefined) args.push('--tokens-per-second', String(tokensPerSecond));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['dev-model', '--listen', `127.0.0.1:${port}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let exitInfo = null;
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exitInfo = { code, signal }))));

  // Ready when it answers HTTP at all (any status).
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) throw new Error(`assistd dev-model exited early (${JSON.stringify(exitInfo)}):\n${out}`);
    try {
      const r = await fetch(`${origin}/v1/models`, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`assistd dev-model not ready after ${READY_TIMEOUT_MS} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  let stopped = null;
  const stop = () => {
    stopped ??= (async () => {
      if (!exitInfo) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const e = await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      if (e.code !== 0) throw new Error(`assistd dev-model did not shut down gracefully on SIGTERM: ${JSON.stringify(e)}\n${out}`);
      return e;
    })();
    return stopped;
  };
  return { port, origin, baseURL: `${origin}/v1`, scriptPath, logs: () => out, stop };
}

/**
 * Starts a dev-model with `script` and an `assistd serve` routing every model
 * to it (OPENAI_BASE_URL=<dev-model>/v1, OPENAI_API_KEY=test). Returns the
 * startServer object plus `model` (the dev-model) and a stop() that stops
 * the server first, then the model; both must exit 0.
 */
export async function startRunServer({ script, latency, tokensPerSecond, env = {}, args = [] } = {}) {
  const model = await startDevModel({ script, latency, tokensPerSecond });
  let srv;
  try {
    srv = await startServer({ env: { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: 'test-key', ...env }, args });
  } catch (err) {
    await model.stop().catch(() => {});
    throw err;
  }
  const stopServer = srv.stop;
  let stopped = null;
  const stop = () => {
    stopped ??= (async () => {
      let first;
      try {
        await stopServer();
      } catch (err) {
        first = err;
      }
      await model.stop();
      if (first) throw first;
    })();
    return stopped;
  };
  return { ...srv, model, stop, logs: () => `--- assistd serve ---\n${srv.logs()}\n--- dev-model ---\n${model.logs()}` };
}
