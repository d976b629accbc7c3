// Runs executed against the scripted model (`assistd dev-model`): poll
// helpers, the function-calling loop, cancel, the active-run guard, list /
// retrieve / update, steps, errors, provider failures and run fields.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRunServer, raw } from '../server.js';
import { OpenAI, assertRun, assertStep, assertUsage, assertListEnvelope, expectAPIError, messageText, textPart } from '../common.js';

export const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather for a location',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

// First matching rule answers; the default echoes "You said: {{last_user}}".
export const SCRIPT = {
  rules: [
    { match: { last_role: 'tool', tool_result_contains: 'sunny' }, reply: { text: 'The weather is {{last_tool_result}}.' } },
    {
      match: { last_role: 'user', user_contains: 'two cities', tool_available: 'get_weather' },
      reply: { tool_calls: [{ name: 'get_weather', arguments: { location: 'Paris' } }, { name: 'get_weather', arguments: { location: 'Tokyo' } }] },
    },
    { match: { last_role: 'user', user_contains: 'weather', tool_available: 'get_weather' }, reply: { tool_calls: [{ name: 'get_weather', arguments: { location: 'Paris' } }] } },
    { match: { user_contains: 'hang forever' }, reply: { hang: true } },
    { match: { user_contains: 'boom500' }, reply: { error: { status: 500, message: 'upstream exploded' } } },
    { match: { user_contains: 'ratelimit429' }, reply: { error: { status: 429, message: 'slow down' } } },
    { match: { user_contains: 'flaky once' }, reply: { fail_times: 1, error: { status: 500 }, text: 'recovered after a retry' } },
    { match: { user_contains: 'echo-json' }, reply: { echo_json: true } },
    { match: { user_contains: 'which model' }, reply: { text: 'model={{model}}' } },
    { match: { system_contains: 'ADDITIONAL-42' }, reply: { text: 'saw the additional instructions' } },
    { match: { system_contains: 'Talk like a pirate' }, reply: { text: 'Arr! {{last_user}}' } },
    { match: { user_contains: 'list tools', tool_available: 'get_weather' }, reply: { text: 'I have get_weather' } },
    { match: { user_contains: 'list tools' }, reply: { text: 'I have no tools' } },
  ],
};

let srv, A, B;

before(async () => {
  srv = await startRunServer({ script: SCRIPT });
  A = srv.clientA;
  B = srv.clientB;
});
after(async () => {
  await srv?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh assistant and a thread holding one user message. */
async function setup(userText = 'hello there', assistant = {}) {
  const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini', instructions: 'You are terse.', ...assistant });
  const thread = await A.beta.threads.create({ messages: [{ role: 'user', content: userText }] });
  return { asst, thread };
}

/** Retrieves (without the poll helper) until the run leaves queued/in_progress/cancelling, or has `status`. */
async function waitFor(threadID, runID, pred = (r) => !['queued', 'in_progress', 'cancelling'].includes(r.status), ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await A.beta.threads.runs.retrieve(runID, { thread_id: threadID });
    if (pred(r)) return r;
    if (Date.now() > deadline) assert.fail(`run ${runID} still ${r.status} after ${ms} ms`);
    await sleep(10);
  }
}

async function assistantMessages(threadID) {
  const page = await A.beta.threads.messages.list(threadID, { order: 'asc' });
  return page.data.filter((m) => m.role === 'assistant');
}

async function allSteps(threadID, runID) {
  return (await A.beta.threads.runs.steps.list(runID, { thread_id: threadID, order: 'asc' })).data;
}

describe('poll helpers', () => {
  it('createAndPoll (default poll interval) returns the completed run at once', async () => {
    const { asst, thread } = await setup('hello there');
    const t0 = Date.now();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const elapsed = Date.now() - t0;
    assertRun(run, { status: 'completed', thread_id: thread.id, assistant_id: asst.id });
    assert.ok(elapsed < 1500, `createAndPoll took ${elapsed} ms (the server should hold poll-helper retrieves until the run changes)`);

    const msgs = await assistantMessages(thread.id);
    assert.equal(msgs.length, 1);
    const m = msgs[0];
    assert.equal(m.run_id, run.id);
    assert.equal(m.assistant_id, asst.id);
    assert.equal(m.status, 'completed');
    assert.deepEqual(m.content, [textPart('You said: hello there')]);
  });

  it('retrieve sets openai-poll-after-ms', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const r = await raw(srv, 'GET', `/threads/${thread.id}/runs/${run.id}`);
    assert.equal(r.status, 200);
    const v = r.headers.get('openai-poll-after-ms');
    assert.ok(v && /^\d+$/.test(v) && Number(v) > 0 && Number(v) <= 5000, `openai-poll-after-ms ${v}`);
  });

  it('createAndRunPoll creates the thread and returns the completed run at once', async () => {
    const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini' });
    const t0 = Date.now();
    const run = await A.beta.threads.createAndRunPoll({
      assistant_id: asst.id,
      thread: { messages: [{ role: 'user', content: 'new thread here' }], metadata: { via: 'createAndRun' } },
    });
    const elapsed = Date.now() - t0;
    assertRun(run, { status: 'completed', assistant_id: asst.id });
    assert.ok(elapsed < 1500, `createAndRunPoll took ${elapsed} ms`);
    const thread = await A.beta.threads.retrieve(run.thread_id);
    assert.deepEqual(thread.metadata, { via: 'createAndRun' });
    const msgs = (await A.beta.threads.messages.list(run.thread_id, { order: 'asc' })).data;
    assert.deepEqual(msgs.map((m) => [m.role, messageText(m)]), [['user', 'new thread here'], ['assistant', 'You said: new thread here']]);
  });
});

describe('function calling', () => {
  it('get_weather: requires_action → submitToolOutputsAndPoll → completed, the answer uses the output', async () => {
    const { asst, thread } = await setup("What's the weather in Paris?", { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'requires_action' });
    assert.notEqual(run.expires_at, null, 'a requires_action run has expires_at');
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].type, 'function');
    assert.equal(typeof calls[0].id, 'string');
    assert.ok(calls[0].id.length > 0);
    assert.equal(calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].function.arguments), { location: 'Paris' });

    let steps = await allSteps(thread.id, run.id);
    assert.equal(steps.length, 1);
    assertStep(steps[0], { type: 'tool_calls', status: 'in_progress', run_id: run.id, thread_id: thread.id, assistant_id: asst.id });
    assert.equal(steps[0].step_details.tool_calls[0].id, calls[0].id);
    assert.equal(steps[0].step_details.tool_calls[0].function.output, null);

    const t0 = Date.now();
    const done = await A.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: [{ tool_call_id: calls[0].id, output: 'sunny, 22C' }],
    });
    assert.ok(Date.now() - t0 < 1500, `submitToolOutputsAndPoll took ${Date.now() - t0} ms`);
    assertRun(done, { status: 'completed', id: run.id });
    assertUsage(done.usage);

    const msgs = await assistantMessages(thread.id);
    assert.equal(msgs.length, 1);
    assert.equal(messageText(msgs[0]), 'The weather is sunny, 22C.');
    assert.equal(msgs[0].run_id, run.id);

    steps = await allSteps(thread.id, run.id);
    assert.deepEqual(steps.map((s) => [s.type, s.status]), [['tool_calls', 'completed'], ['message_creation', 'completed']]);
    for (const s of steps) assertStep(s);
    const fc = steps[0].step_details.tool_calls[0];
    assert.equal(fc.type, 'function');
    assert.equal(fc.function.name, 'get_weather');
    assert.equal(fc.function.output, 'sunny, 22C');
    assert.equal(steps[1].step_details.message_creation.message_id, msgs[0].id);
  });

  it('parallel tool calls: two calls, both outputs required', async () => {
    const { asst, thread } = await setup('weather in two cities please', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'requires_action', parallel_tool_calls: true });
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    assert.equal(calls.length, 2);
    assert.notEqual(calls[0].id, calls[1].id);
    assert.deepEqual(calls.map((c) => JSON.parse(c.function.arguments).location), ['Paris', 'Tokyo']);

    // Missing one output → 400, run still waiting.
    await expectAPIError(
      A.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: calls[0].id, output: 'sunny' }] }),
      OpenAI.BadRequestError,
      400,
    );
    // Unknown tool_call_id → 400.
    await expectAPIError(
      A.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: [
          { tool_call_id: calls[0].id, output: 'sunny' },
          { tool_call_id: 'call_doesnotexist', output: 'rainy' },
        ],
      }),
      OpenAI.BadRequestError,
      400,
    );
    assertRun(await A.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }), { status: 'requires_action' });

    const done = await A.beta.threads.runs.submitToolOutputsAndPoll(run.id, {
      thread_id: thread.id,
      tool_outputs: [
        { tool_call_id: calls[1].id, output: 'sunny in Tokyo' },
        { tool_call_id: calls[0].id, output: 'sunny in Paris' },
      ],
    });
    assertRun(done, { status: 'completed' });
    const steps = await allSteps(thread.id, run.id);
    assert.equal(steps[0].type, 'tool_calls');
    assert.deepEqual(
      steps[0].step_details.tool_calls.map((c) => [c.id, c.function.output]),
      [[calls[0].id, 'sunny in Paris'], [calls[1].id, 'sunny in Tokyo']],
    );
    const msgs = await assistantMessages(thread.id);
    assert.equal(msgs.length, 1);
    assert.match(messageText(msgs[0]), /^The weather is sunny in (Paris|Tokyo)\.$/);

    // Submitting to a completed run → 400.
    await expectAPIError(
      A.beta.threads.runs.submitToolOutputs(run.id, {
        thread_id: thread.id,
        tool_outputs: [
          { tool_call_id: calls[0].id, output: 'x' },
          { tool_call_id: calls[1].id, output: 'y' },
        ],
      }),
      OpenAI.BadRequestError,
      400,
    );
  });

  it('submit on a run that never required action → BadRequestError', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assert.equal(run.status, 'completed');
    await expectAPIError(
      A.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: 'call_x', output: 'x' }] }),
      OpenAI.BadRequestError,
      400,
    );
  });

  it('overriding tools on the run: tools [] hides the assistant tool from the model', async () => {
    const { asst, thread } = await setup('list tools', { tools: [WEATHER_TOOL] });
    const withTools = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(withTools, { status: 'completed', tools: asst.tools });
    assert.equal(withTools.tools[0].function.name, 'get_weather');
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'list tools again' });
    const without = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, tools: [] });
    assertRun(without, { status: 'completed', tools: [] });
    const msgs = await assistantMessages(thread.id);
    assert.deepEqual(msgs.map(messageText), ['I have get_weather', 'I have no tools']);
  });
});

describe('cancel and the active-run guard', () => {
  it('cancels a run whose model hangs: cancelling → cancelled', async () => {
    const { asst, thread } = await setup('please hang forever');
    const run = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'queued' });
    await waitFor(thread.id, run.id, (r) => r.status === 'in_progress');
    const c = await A.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    assertRun(c, { id: run.id });
    assert.ok(['cancelling', 'cancelled'].includes(c.status), `cancel answered ${c.status}`);
    const t0 = Date.now();
    const final = await A.beta.threads.runs.poll(run.id, { thread_id: thread.id });
    assert.ok(Date.now() - t0 < 3000, `cancellation took ${Date.now() - t0} ms`);
    assertRun(final, { status: 'cancelled' });
    assertUnixTime(final.cancelled_at);
    assert.equal(final.completed_at, null);
    assert.equal(final.expires_at, null);
    assert.deepEqual(await assistantMessages(thread.id), [], 'no assistant message from a cancelled run that produced nothing');
    // Cancelling again → 400.
    await expectAPIError(A.beta.threads.runs.cancel(run.id, { thread_id: thread.id }), OpenAI.BadRequestError, 400);
  });

  it('cancelling a completed run → BadRequestError', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assert.equal(run.status, 'completed');
    await expectAPIError(A.beta.threads.runs.cancel(run.id, { thread_id: thread.id }), OpenAI.BadRequestError, 400);
    assertRun(await A.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }), { status: 'completed' });
  });

  it('a thread with an active run refuses a second run and new messages', async () => {
    const { asst, thread } = await setup('hang forever here');
    const run = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id });
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: asst.id }), OpenAI.BadRequestError, 400);
    await expectAPIError(A.beta.threads.messages.create(thread.id, { role: 'user', content: 'more' }), OpenAI.BadRequestError, 400);
    // Also while waiting on tool outputs? (covered below); cancel, then the thread is free again.
    await A.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    assertRun(await A.beta.threads.runs.poll(run.id, { thread_id: thread.id }), { status: 'cancelled' });
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'now it works' });
    const second = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(second, { status: 'completed' });
  });

  it('a requires_action run is active too; cancelling it cancels its tool_calls step', async () => {
    const { asst, thread } = await setup('weather?', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assert.equal(run.status, 'requires_action');
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: asst.id }), OpenAI.BadRequestError, 400);
    await expectAPIError(A.beta.threads.messages.create(thread.id, { role: 'user', content: 'more' }), OpenAI.BadRequestError, 400);
    const c = await A.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    assert.ok(['cancelling', 'cancelled'].includes(c.status), c.status);
    const final = await A.beta.threads.runs.poll(run.id, { thread_id: thread.id });
    assertRun(final, { status: 'cancelled', required_action: null });
    const steps = await allSteps(thread.id, run.id);
    assert.deepEqual(steps.map((s) => [s.type, s.status]), [['tool_calls', 'cancelled']]);
    assertUnixTime(steps[0].cancelled_at);
  });
});

describe('list, retrieve, update, steps', () => {
  it('runs.list (order, limit, after), retrieve, update metadata', async () => {
    const { asst, thread } = await setup();
    const r1 = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, metadata: { n: '1' } });
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'again' });
    const r2 = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });

    const desc = await A.beta.threads.runs.list(thread.id);
    assert.deepEqual(desc.data.map((r) => r.id), [r2.id, r1.id]);
    for (const r of desc.data) assertRun(r, { status: 'completed' });
    const asc = await A.beta.threads.runs.list(thread.id, { order: 'asc' });
    assert.deepEqual(asc.data.map((r) => r.id), [r1.id, r2.id]);
    const page = await A.beta.threads.runs.list(thread.id, { limit: 1 });
    assert.deepEqual(page.data.map((r) => r.id), [r2.id]);
    assert.equal(page.hasNextPage(), true);
    const next = await page.getNextPage();
    assert.deepEqual(next.data.map((r) => r.id), [r1.id]);
    const rawList = await raw(srv, 'GET', `/threads/${thread.id}/runs?limit=1&order=asc`);
    assertListEnvelope(rawList.body, [r1.id]);
    assert.equal(rawList.body.has_more, true);

    assert.deepEqual(await A.beta.threads.runs.retrieve(r1.id, { thread_id: thread.id }), r1);
    assert.deepEqual(r1.metadata, { n: '1' });

    const u = await A.beta.threads.runs.update(r1.id, { thread_id: thread.id, metadata: { n: '1', tag: 'x' } });
    assertRun(u, { id: r1.id, status: 'completed', metadata: { n: '1', tag: 'x' } });
    assert.deepEqual(await A.beta.threads.runs.retrieve(r1.id, { thread_id: thread.id }), u);
    const { metadata: _m1, ...restU } = u;
    const { metadata: _m2, ...restR1 } = r1;
    assert.deepEqual(restU, restR1, 'update changes only metadata');
  });

  it('steps.list and steps.retrieve, with include file_search content accepted', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const include = ['step_details.tool_calls[*].file_search.results[*].content'];
    const page = await A.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, include });
    assert.equal(page.data.length, 1);
    const step = page.data[0];
    assertStep(step, { type: 'message_creation', status: 'completed', run_id: run.id, thread_id: thread.id, assistant_id: asst.id, last_error: null });
    assertUnixTime(step.completed_at);
    assertUsage(step.usage);
    const msgs = await assistantMessages(thread.id);
    assert.equal(step.step_details.message_creation.message_id, msgs[0].id);

    assert.deepEqual(await A.beta.threads.runs.steps.retrieve(step.id, { thread_id: thread.id, run_id: run.id, include }), step);
    assert.deepEqual(await A.beta.threads.runs.steps.retrieve(step.id, { thread_id: thread.id, run_id: run.id }), step);
    const rawList = await raw(srv, 'GET', `/threads/${thread.id}/runs/${run.id}/steps?include[]=${encodeURIComponent(include[0])}`);
    assertListEnvelope(rawList.body, [step.id]);
    // An unknown include value is refused.
    const bad = await raw(srv, 'GET', `/threads/${thread.id}/runs/${run.id}/steps?include[]=bogus`);
    assert.equal(bad.status, 400, bad.text);
    // runs.create accepts include too.
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'with include' });
    const r2 = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, include });
    assertRun(r2, { status: 'completed' });
  });
});

describe('errors', () => {
  it('unknown assistant → NotFoundError (runs.create and createAndRun)', async () => {
    const thread = await A.beta.threads.create();
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: 'asst_doesnotexist' }), OpenAI.NotFoundError, 404);
    await expectAPIError(A.beta.threads.createAndRun({ assistant_id: 'asst_doesnotexist' }), OpenAI.NotFoundError, 404);
  });

  it('unknown thread / run / step → NotFoundError', async () => {
    const { asst, thread } = await setup();
    await expectAPIError(A.beta.threads.runs.create('thread_doesnotexist', { assistant_id: asst.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(A.beta.threads.runs.retrieve('run_doesnotexist', { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(A.beta.threads.runs.cancel('run_doesnotexist', { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    await expectAPIError(A.beta.threads.runs.steps.retrieve('step_doesnotexist', { thread_id: thread.id, run_id: run.id }), OpenAI.NotFoundError, 404);
    // The run exists, but under another thread.
    const other = await A.beta.threads.create();
    await expectAPIError(A.beta.threads.runs.retrieve(run.id, { thread_id: other.id }), OpenAI.NotFoundError, 404);
  });

  it("another project's run → NotFoundError", async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    await expectAPIError(B.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.runs.update(run.id, { thread_id: thread.id, metadata: { x: 'y' } }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.runs.cancel(run.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.runs.list(thread.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.runs.steps.list(run.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(
      B.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: 'call_x', output: 'x' }] }),
      OpenAI.NotFoundError,
      404,
    );
    // B's assistant cannot run on A's thread, nor A's assistant on B's thread.
    const bAsst = await B.beta.assistants.create({ model: 'gpt-4o-mini' });
    await expectAPIError(B.beta.threads.runs.create(thread.id, { assistant_id: bAsst.id }), OpenAI.NotFoundError, 404);
    const bThread = await B.beta.threads.create();
    await expectAPIError(B.beta.threads.runs.create(bThread.id, { assistant_id: asst.id }), OpenAI.NotFoundError, 404);
    // A's run is untouched.
    assert.deepEqual((await A.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).metadata, {});
  });

  it('invalid run parameters → BadRequestError with param', async () => {
    const { asst, thread } = await setup('hi', { tools: [WEATHER_TOOL] });
    const create = (body) => A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, ...body });
    await expectAPIError(create({ temperature: 3 }), OpenAI.BadRequestError, 400, { param: 'temperature' });
    await expectAPIError(create({ top_p: 2 }), OpenAI.BadRequestError, 400, { param: 'top_p' });
    await expectAPIError(create({ tool_choice: { type: 'function', function: { name: 'not_a_tool' } } }), OpenAI.BadRequestError, 400, { param: 'tool_choice' });
    await expectAPIError(create({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }), OpenAI.BadRequestError, 400, { param: 'metadata' });
    await expectAPIError(create({ max_completion_tokens: 100 }), OpenAI.BadRequestError, 400, { param: 'max_completion_tokens' });
    await expectAPIError(
      create({ additional_messages: [{ role: 'user', content: 'x', attachments: [{ file_id: 'file-doesnotexist', tools: [{ type: 'code_interpreter' }] }] }] }),
      OpenAI.BadRequestError,
      400,
    );
    // None of these created a run or a message.
    assert.deepEqual((await A.beta.threads.runs.list(thread.id)).data, []);
    assert.equal((await A.beta.threads.messages.list(thread.id)).data.length, 1);
  });

  it('tool_outputs: duplicate ids and an empty list → BadRequestError; a missing output is accepted', async () => {
    const { asst, thread } = await setup('weather?', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const id = run.required_action.submit_tool_outputs.tool_calls[0].id;
    const submit = (tool_outputs) => A.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs });
    await expectAPIError(submit([{ tool_call_id: id, output: 'a' }, { tool_call_id: id, output: 'b' }]), OpenAI.BadRequestError, 400);
    await expectAPIError(submit([]), OpenAI.BadRequestError, 400);
    const done = await A.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: id }] });
    assertRun(done, { status: 'completed' });
  });

  it('missing assistant_id → BadRequestError', async () => {
    const thread = await A.beta.threads.create();
    const r = await raw(srv, 'POST', `/threads/${thread.id}/runs`, { body: {} });
    assert.equal(r.status, 400, r.text);
  });
});

describe('provider failures', () => {
  it('a 500 from the model → failed with server_error', async () => {
    const { asst, thread } = await setup('boom500 now');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'failed' });
    assert.equal(run.last_error.code, 'server_error');
    assert.equal(run.completed_at, null);
    assert.equal(run.expires_at, null);
    assert.deepEqual(await assistantMessages(thread.id), []);
  });

  it('a 429 from the model (after the router retries) → failed with rate_limit_exceeded', async () => {
    const { asst, thread } = await setup('ratelimit429 please');
    const t0 = Date.now();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'failed' });
    assert.equal(run.last_error.code, 'rate_limit_exceeded');
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
  });

  it('a model that fails once (500) then answers → the run completes', async () => {
    const { asst, thread } = await setup('flaky once');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'completed' });
    const msgs = await assistantMessages(thread.id);
    assert.deepEqual(msgs.map(messageText), ['recovered after a retry']);
  });
});

describe('concurrency', () => {
  it('concurrent runs.create on one thread: exactly one succeeds', async () => {
    const { asst, thread } = await setup('hang forever please');
    const res = await Promise.allSettled(Array.from({ length: 8 }, () => A.beta.threads.runs.create(thread.id, { assistant_id: asst.id })));
    const ok = res.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1, res.map((r) => r.status === 'fulfilled' ? 'ok' : r.reason.status).join(','));
    for (const r of res) if (r.status === 'rejected') assert.ok(r.reason instanceof OpenAI.BadRequestError, String(r.reason));
    await A.beta.threads.runs.cancel(ok[0].value.id, { thread_id: thread.id });
    assertRun(await A.beta.threads.runs.poll(ok[0].value.id, { thread_id: thread.id }), { status: 'cancelled' });
  });

  it('20 runs on 20 threads in parallel all complete', async () => {
    const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini' });
    const runs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const thread = await A.beta.threads.create({ messages: [{ role: 'user', content: `parallel ${i}` }] });
        return A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
      }),
    );
    assert.deepEqual(runs.map((r) => r.status), Array(20).fill('completed'));
    const texts = await Promise.all(runs.map(async (r) => (await A.beta.threads.messages.list(r.thread_id, { run_id: r.id })).data.map(messageText)));
    assert.deepEqual(texts, runs.map((_, i) => [`You said: parallel ${i}`]));
  });
});

describe('run fields', () => {
  it('usage sums the model turns; each step carries its own turn', async () => {
    const { asst, thread } = await setup('weather?', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const id = run.required_action.submit_tool_outputs.tool_calls[0].id;
    const done = await A.beta.threads.runs.submitToolOutputsAndPoll(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: id, output: 'sunny' }] });
    const steps = await allSteps(thread.id, run.id);
    assert.equal(steps.length, 2);
    for (const s of steps) assertUsage(s.usage);
    for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
      assert.equal(done.usage[k], steps[0].usage[k] + steps[1].usage[k], `run.usage.${k} is the sum of the steps'`);
    }
  });

  it('usage is null while not terminal (requires_action run, in_progress step)', async () => {
    const { asst, thread } = await setup('weather?', { tools: [WEATHER_TOOL] });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assert.equal(run.status, 'requires_action');
    const steps = await allSteps(thread.id, run.id);
    try {
      assert.equal(steps[0].usage, null, 'in_progress step usage');
      assert.equal(run.usage, null, 'requires_action run usage');
    } finally {
      await A.beta.threads.runs.cancel(run.id, { thread_id: thread.id });
    }
  });

  it('completed run: timestamps and usage', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'completed', last_error: null, incomplete_details: null, failed_at: null, cancelled_at: null });
    assertUnixTime(run.started_at);
    assertUnixTime(run.completed_at);
    assert.ok(run.created_at <= run.started_at && run.started_at <= run.completed_at);
    assert.notEqual(run.usage, null, 'usage is filled on completion');
    assertUsage(run.usage);
    assert.ok(run.usage.prompt_tokens > 0, 'prompt_tokens > 0');
    assert.ok(run.usage.completion_tokens > 0, 'completion_tokens > 0');
  });

  it('model/instructions/tools/temperature/top_p/response_format come from the assistant', async () => {
    const { asst, thread } = await setup('which model', {
      model: 'gpt-4o',
      instructions: 'Talk plainly.',
      tools: [WEATHER_TOOL],
      temperature: 0.3,
      top_p: 0.8,
      response_format: { type: 'json_object' },
    });
    const queued = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id });
    assertRun(queued, {
      model: 'gpt-4o',
      instructions: 'Talk plainly.',
      tools: asst.tools,
      temperature: 0.3,
      top_p: 0.8,
      response_format: { type: 'json_object' },
      metadata: {},
      usage: null,
      parallel_tool_calls: true,
      tool_choice: 'auto',
      truncation_strategy: { type: 'auto', last_messages: null },
      max_prompt_tokens: null,
      max_completion_tokens: null,
    });
    const run = await A.beta.threads.runs.poll(queued.id, { thread_id: thread.id });
    assertRun(run, { status: 'completed' });
    assert.deepEqual((await assistantMessages(thread.id)).map(messageText), ['model=gpt-4o']);
  });

  it('run-level overrides: model, instructions, temperature, top_p, metadata, limits', async () => {
    const { asst, thread } = await setup('which model');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, {
      assistant_id: asst.id,
      model: 'gpt-4.1-nano',
      instructions: 'Overridden.',
      temperature: 0.2,
      top_p: 0.5,
      metadata: { k: 'v' },
      max_prompt_tokens: 5000,
      max_completion_tokens: 1000,
      truncation_strategy: { type: 'last_messages', last_messages: 10 },
      tool_choice: 'none',
      parallel_tool_calls: false,
    });
    assertRun(run, {
      status: 'completed',
      model: 'gpt-4.1-nano',
      instructions: 'Overridden.',
      temperature: 0.2,
      top_p: 0.5,
      metadata: { k: 'v' },
      max_prompt_tokens: 5000,
      max_completion_tokens: 1000,
      truncation_strategy: { type: 'last_messages', last_messages: 10 },
      tool_choice: 'none',
      parallel_tool_calls: false,
    });
    assert.deepEqual((await assistantMessages(thread.id)).map(messageText), ['model=gpt-4.1-nano']);
    // The assistant itself is unchanged.
    const a = await A.beta.assistants.retrieve(asst.id);
    assert.equal(a.model, 'gpt-4o-mini');
    assert.equal(a.instructions, 'You are terse.');
  });

  it('instructions reach the model as the system prompt', async () => {
    const { asst, thread } = await setup('ahoy', { instructions: 'Talk like a pirate.' });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    assertRun(run, { status: 'completed', instructions: 'Talk like a pirate.' });
    assert.deepEqual((await assistantMessages(thread.id)).map(messageText), ['Arr! ahoy']);
  });

  it('additional_instructions are appended to the instructions', async () => {
    const { asst, thread } = await setup('hi', { instructions: 'Base instructions.' });
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, additional_instructions: 'Mention ADDITIONAL-42.' });
    assertRun(run, { status: 'completed' });
    assert.ok(run.instructions.startsWith('Base instructions.'), run.instructions);
    assert.ok(run.instructions.endsWith('Mention ADDITIONAL-42.'), run.instructions);
    assert.deepEqual((await assistantMessages(thread.id)).map(messageText), ['saw the additional instructions']);
  });

  it('additional_messages are added to the thread before the run', async () => {
    const { asst, thread } = await setup('first');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, {
      assistant_id: asst.id,
      additional_messages: [
        { role: 'assistant', content: 'an earlier answer' },
        { role: 'user', content: 'the added question', metadata: { added: 'yes' } },
      ],
    });
    assertRun(run, { status: 'completed' });
    const msgs = (await A.beta.threads.messages.list(thread.id, { order: 'asc' })).data;
    assert.deepEqual(msgs.map((m) => [m.role, messageText(m)]), [
      ['user', 'first'],
      ['assistant', 'an earlier answer'],
      ['user', 'the added question'],
      ['assistant', 'You said: the added question'],
    ]);
    assert.deepEqual(msgs[2].metadata, { added: 'yes' });
    assert.equal(msgs[3].run_id, run.id);
  });

  it('response_format json_object: the model answers with a JSON object', async () => {
    const { asst, thread } = await setup('echo-json this');
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id, response_format: { type: 'json_object' } });
    assertRun(run, { status: 'completed', response_format: { type: 'json_object' } });
    const msgs = await assistantMessages(thread.id);
    assert.equal(msgs.length, 1);
    assert.deepEqual(JSON.parse(messageText(msgs[0])), { echo: 'echo-json this' });
  });

  it('messages.list filters by run_id', async () => {
    const { asst, thread } = await setup();
    const run = await A.beta.threads.runs.createAndPoll(thread.id, { assistant_id: asst.id });
    const page = await A.beta.threads.messages.list(thread.id, { run_id: run.id });
    assert.equal(page.data.length, 1);
    assert.equal(page.data[0].role, 'assistant');
    assert.equal(page.data[0].run_id, run.id);
  });
});

function assertUnixTime(v) {
  assert.ok(Number.isInteger(v) && v > Date.now() / 1000 - 3600 && v <= Date.now() / 1000 + 5, `unix time ${v}`);
}
