// poll.mjs: part (d) of bench/runs. Calls the openai npm SDK's
// beta.threads.runs.createAndPoll (no custom poll interval) BENCH_RUNS times
// in sequence, each on a new thread holding one user message, and prints one
// JSON line per call: {"run_id", "status", "start_ms", "end_ms"}, the wall
// clock (Unix milliseconds, sub-millisecond precision) just before the call
// and just after it returned. The Go program matches these with the end of
// the model server's reply.
//
// Environment: BENCH_BASE_URL (http://host:port/v1), BENCH_API_KEY,
// BENCH_ASSISTANT_ID, BENCH_RUNS, BENCH_USER_TEXT, BENCH_CONFORMANCE_DIR
// (the directory whose node_modules holds the openai package).
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`poll.mjs: ${name} is not set`);
  return v;
};

const require = createRequire(path.join(env('BENCH_CONFORMANCE_DIR'), 'package.json'));
const OpenAI = require('openai').default ?? require('openai');

const client = new OpenAI({ baseURL: env('BENCH_BASE_URL'), apiKey: env('BENCH_API_KEY'), maxRetries: 0, timeout: 60_000 });
const assistantId = env('BENCH_ASSISTANT_ID');
const runs = Number.parseInt(env('BENCH_RUNS'), 10);
const nowMs = () => performance.timeOrigin + performance.now();

for (let i = 0; i < runs; i++) {
  const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: env('BENCH_USER_TEXT') }] });
  const start = nowMs();
  const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId });
  const end = nowMs();
  process.stdout.write(JSON.stringify({ run_id: run.id, status: run.status, start_ms: start, end_ms: end }) + '\n');
}
