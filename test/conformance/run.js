#!/usr/bin/env node
// Builds assistd once (unless ASSISTD_BIN is set), then runs every
// tests/*.test.js with node:test, one file at a time. Extra arguments are
// passed to `node --test` (e.g. --test-name-pattern=v1) — a trailing list of
// test files replaces the default set.
//
// Backend: SQLite, or PostgreSQL when ASSISTD_CONFORMANCE_DATABASE_URL is
// set (see server.js): then it also builds the pgschema helper, gives this
// run's schemas a prefix of their own (assistd_conf_<random>_) and drops any
// of them a crashed test left behind.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import { buildBinary } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const fileArgs = args.filter((a) => a.endsWith('.js'));
const flagArgs = args.filter((a) => !a.endsWith('.js'));
const files = fileArgs.length
  ? fileArgs
  : fs.readdirSync(path.join(here, 'tests')).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('tests', f));

let tmp;
const env = { ...process.env };
if (!env.ASSISTD_BIN) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'assistd-conformance-'));
  const t0 = Date.now();
  env.ASSISTD_BIN = await buildBinary(tmp);
  console.error(`built ${env.ASSISTD_BIN} in ${Date.now() - t0} ms`);
}
const dbURL = env.ASSISTD_CONFORMANCE_DATABASE_URL ?? '';
if (dbURL) {
  if (!env.ASSISTD_PGSCHEMA_BIN) {
    tmp ??= fs.mkdtempSync(path.join(os.tmpdir(), 'assistd-conformance-'));
    env.ASSISTD_PGSCHEMA_BIN = await buildBinary(tmp, './test/conformance/pgschema', 'pgschema');
  }
  env.ASSISTD_CONFORMANCE_SCHEMA_PREFIX = `assistd_conf_${crypto.randomBytes(4).toString('hex')}_`;
  let shown = dbURL;
  try {
    const u = new URL(dbURL);
    if (u.password) u.password = '***';
    shown = u.toString();
  } catch {
    shown = '(unparsable URL)';
  }
  console.error(`conformance backend: PostgreSQL ${shown}, one fresh schema ${env.ASSISTD_CONFORMANCE_SCHEMA_PREFIX}* per server`);
} else {
  console.error('conformance backend: SQLite (set ASSISTD_CONFORMANCE_DATABASE_URL=postgres://… for PostgreSQL)');
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=60000', ...flagArgs, ...files], {
  cwd: here,
  env,
  stdio: 'inherit',
});
if (dbURL) {
  // Whatever a killed or crashed test left behind.
  const sw = spawnSync(env.ASSISTD_PGSCHEMA_BIN, ['sweep', dbURL, env.ASSISTD_CONFORMANCE_SCHEMA_PREFIX], { stdio: 'inherit' });
  if (sw.status !== 0) console.error('warning: could not sweep the conformance schemas');
}
if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(r.status ?? 1);
