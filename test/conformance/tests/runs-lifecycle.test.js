// Run lifecycle edges against the scripted model, on a server whose
// requires-action timeout is 1 s: expiry, cancelling mid-stream, a client
// that leaves a stream, text + tool calls in one turn, truncation and
// malformed model answers, deleting a thread with an active run.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRunServer } from '../server.js';
import { OpenAI, assertRun, assertStep, expectAPIError, messageText, textPart } from '../common.js';

const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } },
};

const SCRIPT = {
  rules: [
    { match: { last_role: 'tool' }, reply: { text: 'Done: {{last_tool_result}}' } },
    { match: { last_role: 'user', user_contains: 'weather', tool_available: 'get_weather' }, reply: { text: 'Let me check.', tool_calls: [{ name: 'get_weather', arguments: { location: '{{last_user}}' } }] } },
    { match: { user_contains: 'slowly' }, reply: { text: 'a b c d e f g h i j k l m n o p q r s t', tokens_per_second: 20 } },
    { match: { user_contains: 'delayed' }, reply: { text: 'finally here', latency: '300ms' } },
    { match: { user_contains: 'truncate' }, reply: { text: 'cut off here', truncate: true } },
    { match: { user_contains: 'malformed' }, reply: { malformed: true } },
    { match: { user_contains: 'hang' }, reply: { hang: true } },
  ],
};

let srv, A;

before(async () => {
  srv = await startRunServer({ script: SCRIPT, args: ['--requires-action-timeout', '1s'] });
  A = srv.clientA;
});
after(async () => {
  await srv?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function setup(userText, assistant = {}) {
  const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini', ...assistant });
  const thread = await A.beta.threads.create({ messages: [{ role: 'user', content: userText }] });
  return { asst, thread };
}

async function waitFor(threadID, runID, pred, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await A.beta.threads.runs.retrieve(runID, { thread_id: threadID });
    if (pred(r)) return r;
    if (Date.now() > deadline) assert.fail(`run ${runID} still ${r.status} after ${ms} ms`);
    await sleep(25);
  }
}

const steps = async (threadID, runID) => (await A.beta.threads.runs.steps.list(runID, { thread_id: threadID, order: 'asc' })).data;

describe('run lifecycle', () => {
  it('text and a tool call in one turn: a message step, then a tool_calls step', async () => {
    const { asst, thread } = await setup('weather Oslo', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'requires_action' });
    const [call] = run.required_action.submit_tool_outputs.tool_calls;
    assert.deepEqual(JSON.parse(call.function.arguments), { location: 'weather Oslo' }, 'placeholders are filled in arguments');
    let st = await steps(thread.id, run.id);
    assert.deepEqual(st.map((s) => [s.type, s.status]), [['message_creation', 'completed'], ['tool_calls', 'in_progress']]);
    st.forEach((s) => assertStep(s));
    const msgs1 = (await A.beta.threads.messages.list(thread.id, { order: 'asc' })).data;
    assert.deepEqual(msgs1.map((m) => [m.role, m.status, messageText(m)]), [['user', 'completed', 'weather Oslo'], ['assistant', 'completed', 'Let me check.']]);

    const done = await A.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: 'cold' }] });
    assertRun(done, { status: 'completed' });
    st = await steps(thread.id, run.id);
    assert.deepEqual(st.map((s) => [s.type, s.status]), [['message_creation', 'completed'], ['tool_calls', 'completed'], ['message_creation', 'completed']]);
    const msgs2 = (await A.beta.threads.messages.list(thread.id, { order: 'asc' })).data;
    assert.deepEqual(msgs2.map(messageText), ['weather Oslo', 'Let me check.', 'Done: cold']);
  });

  it('a requires_action run expires after requires-action-timeout; its step expires; submit → 400', async () => {
    const { asst, thread } = await setup('weather Rome', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assert.equal(run.status, 'requires_action');
    assert.ok(run.expires_at - Math.floor(Date.now() / 1000) <= 2, `expires_at ${run.expires_at} honours the 1 s timeout`);
    const t0 = Date.now();
    const expired = await waitFor(thread.id, run.id, (r) => r.status !== 'requires_action', 8000);
    assert.ok(Date.now() - t0 < 5000, `expired after ${Date.now() - t0} ms`);
    assertRun(expired, { status: 'expired', required_action: null });
    const st = await steps(thread.id, run.id);
    assert.deepEqual(st.map((s) => [s.type, s.status]), [['message_creation', 'completed'], ['tool_calls', 'expired']]);
    assert.ok(Number.isInteger(st[1].expired_at));
    const [call] = run.required_action.submit_tool_outputs.tool_calls;
    await expectAPIError(
      A.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: 'x' }] }),
      OpenAI.BadRequestError,
      400,
    );
    await expectAPIError(A.beta.threads.runs.cancel(run.id, { thread_id: thread.id }), OpenAI.BadRequestError, 400);
    // The thread is free again.
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'hello again' });
  });

  it('cancel mid-stream: the partial message is incomplete (run_cancelled), the stream ends cancelled', async () => {
    const { asst, thread } = await setup('answer slowly');
    const stream = A.beta.threads.runs.stream(thread.id, { assistant_id: asst.id });
    const names = [];
    let deltas = 0;
    let cancelled;
    stream.on('event', (e) => {
      names.push(e.event);
      if (e.event === 'thread.message.delta' && ++deltas === 2) {
        cancelled = A.beta.threads.runs.cancel(stream.currentRun().id, { thread_id: thread.id });
      }
    });
    const run = await stream.finalRun();
    const c = await cancelled;
    assert.ok(['cancelling', 'cancelled'].includes(c.status), c.status);
    assertRun(run, { status: 'cancelled' });
    const tail = names.filter((n) => n !== 'thread.message.delta').slice(-4);
    assert.deepEqual(tail, ['thread.run.cancelling', 'thread.message.incomplete', 'thread.run.step.cancelled', 'thread.run.cancelled']);
    const [m] = (await A.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    assert.equal(m.status, 'incomplete');
    assert.deepEqual(m.incomplete_details, { reason: 'run_cancelled' });
    assert.ok(Number.isInteger(m.incomplete_at));
    assert.ok(messageText(m).length > 0 && 'a b c d e f g h i j k l m n o p q r s t'.startsWith(messageText(m)), `partial text ${messageText(m)}`);
    const st = await steps(thread.id, run.id);
    assert.deepEqual(st.map((s) => [s.type, s.status]), [['message_creation', 'cancelled']]);
  });

  it('a client that leaves a stream does not stop the run', async () => {
    const { asst, thread } = await setup('delayed answer');
    const stream = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, stream: true });
    let runID;
    for await (const ev of stream) {
      runID = ev.data.id;
      break; // leaves after thread.run.created
    }
    const run = await waitFor(thread.id, runID, (r) => !['queued', 'in_progress'].includes(r.status));
    assertRun(run, { status: 'completed' });
    const msgs = (await A.beta.threads.messages.list(thread.id, { run_id: runID })).data;
    assert.deepEqual(msgs.map((m) => m.content), [[textPart('finally here')]]);
  });

  it('createAndPoll on a run whose model answers after 300 ms returns promptly', async () => {
    const { asst, thread } = await setup('delayed please');
    const t0 = Date.now();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const elapsed = Date.now() - t0;
    assertRun(run, { status: 'completed' });
    assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
  });

  it('a truncated answer with max_completion_tokens → run incomplete, message incomplete', async () => {
    const { asst, thread } = await setup('truncate this');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, max_completion_tokens: 256 });
    assertRun(run, { status: 'incomplete', incomplete_details: { reason: 'max_completion_tokens' }, max_completion_tokens: 256 });
    const [m] = (await A.beta.threads.messages.list(thread.id, { run_id: run.id })).data;
    assert.equal(m.status, 'incomplete');
    assert.equal(messageText(m), 'cut off here');
    assert.ok(m.incomplete_details?.reason, `incomplete_details ${JSON.stringify(m.incomplete_details)}`);
  });

  it('max_completion_tokens below 256 → BadRequestError', async () => {
    const { asst, thread } = await setup('hi');
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, max_completion_tokens: 100 }), OpenAI.BadRequestError, 400, { param: 'max_completion_tokens' });
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, max_prompt_tokens: 100 }), OpenAI.BadRequestError, 400, { param: 'max_prompt_tokens' });
  });

  it('a malformed model answer → failed with server_error', async () => {
    const { asst, thread } = await setup('malformed please');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'failed' });
    assert.equal(run.last_error.code, 'server_error');
  });

  it('a run left hanging at shutdown does not keep the server from a graceful stop (checked by after())', async () => {
    const { asst, thread } = await setup('hang until shutdown');
    const run = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id });
    await waitFor(thread.id, run.id, (r) => r.status === 'in_progress');
  });

  it('deleting a thread with an active run: the run goes with it', async () => {
    const { asst, thread } = await setup('answer slowly');
    const run = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id });
    const d = await A.beta.threads.delete(thread.id);
    assert.deepEqual(d, { id: thread.id, object: 'thread.deleted', deleted: true });
    await expectAPIError(A.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await sleep(200);
    await expectAPIError(A.beta.threads.messages.list(thread.id), OpenAI.NotFoundError, 404);
    // The server keeps working.
    const other = await setup('still alive');
    assertRun(await A.beta.threads.runs.createAndPoll(other.thread.id, { assistant_id: other.asst.id }), { status: 'completed' });
  });
});
