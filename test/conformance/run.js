#!/usr/bin/env node
// Builds assistd once (unless ASSISTD_BIN is set), then runs every
// tests/*.test.js with node:test, one file at a time. Extra arguments are
// passed to `node --test` (e.g. --test-name-pattern=v1) — a trailing list of
// test files replaces the default set.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=60000', ...flagArgs, ...files], {
  cwd: here,
  env,
  stdio: 'inherit',
});
if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(r.status ?? 1);
