// Streamed runs against the scripted model: the SDK's AssistantStream
// helpers (runs.stream, createAndRunStream, submitToolOutputsStream) and the
// raw `stream: true` event streams.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRunServer } from '../server.js';
import { OpenAI, assertRun, assertStep, assertUsage, expectAPIError, messageText, textPart } from '../common.js';

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather for a location',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

const SCRIPT = {
  rules: [
    { match: { last_role: 'tool' }, reply: { text: 'The weather is {{last_tool_result}}.' } },
    {
      match: { last_role: 'user', user_contains: 'two cities', tool_available: 'get_weather' },
      reply: { tool_calls: [{ name: 'get_weather', arguments: { location: 'Paris' } }, { name: 'get_weather', arguments: { location: 'Tokyo' } }] },
    },
    { match: { last_role: 'user', user_contains: 'weather', tool_available: 'get_weather' }, reply: { tool_calls: [{ name: 'get_weather', arguments: { location: 'Paris' } }] } },
    { match: { user_contains: 'long answer' }, reply: { text: 'One two three four five six seven eight nine ten.' } },
    { match: { user_contains: 'boom500' }, reply: { error: { status: 500, message: 'upstream exploded' } } },
  ],
};

let srv, A;

before(async () => {
  srv = await startRunServer({ script: SCRIPT });
  A = srv.clientA;
});
after(async () => {
  await srv?.stop();
});

async function setup(userText = 'hello stream', assistant = {}) {
  const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini', instructions: 'Be brief.', ...assistant });
  const thread = await A.beta.threads.create({ messages: [{ role: 'user', content: userText }] });
  return { asst, thread };
}

/** Event names with runs of the same delta event collapsed into one "<name>*". */
function collapse(names) {
  const out = [];
  for (const n of names) {
    const c = n.endsWith('.delta') ? `${n}*` : n;
    if (c.endsWith('*') && out.at(-1) === c) continue;
    out.push(c);
  }
  return out;
}

const TEXT_RUN_TAIL = [
  'thread.run.in_progress',
  'thread.run.step.created',
  'thread.run.step.in_progress',
  'thread.message.created',
  'thread.message.in_progress',
  'thread.message.delta*',
  'thread.message.completed',
  'thread.run.step.completed',
  'thread.run.completed',
];

/** Collects every {event, data} of a raw SDK Stream. */
async function drain(stream) {
  const events = [];
  for await (const ev of stream) events.push(ev);
  return events;
}

/** Checks the data objects of a raw run event stream against their event names. */
function checkEventData(events, { runID, threadID }) {
  for (const { event, data } of events) {
    if (event.startsWith('thread.run.step.')) {
      if (event === 'thread.run.step.delta') {
        assert.equal(data.object, 'thread.run.step.delta');
        assert.match(data.id, /^step_/);
      } else {
        assertStep(data, { run_id: runID, thread_id: threadID });
        assert.equal(data.status, { created: 'in_progress', in_progress: 'in_progress', completed: 'completed' }[event.split('.').pop()] ?? data.status, event);
      }
    } else if (event.startsWith('thread.run.')) {
      assertRun(data, { id: runID, thread_id: threadID });
      const want = { created: 'queued' }[event.split('.').pop()] ?? event.split('.').pop();
      assert.equal(data.status, want, `${event} carries status ${data.status}`);
    } else if (event === 'thread.message.delta') {
      assert.equal(data.object, 'thread.message.delta');
      assert.match(data.id, /^msg_/);
      assert.equal(data.delta.content[0].type, 'text');
    } else if (event.startsWith('thread.message.')) {
      assert.equal(data.object, 'thread.message');
      assert.equal(data.role, 'assistant');
      assert.equal(data.run_id, runID);
      assert.equal(data.status, event.split('.').pop() === 'completed' ? 'completed' : 'in_progress', event);
    } else if (event === 'thread.created') {
      assert.equal(data.object, 'thread');
      assert.equal(data.id, threadID);
    } else {
      assert.fail(`unexpected event ${event}`);
    }
  }
}

describe('AssistantStream helpers', () => {
  it('runs.stream: textDelta, messageDone, event; finalMessages and finalRun', async () => {
    const { asst, thread } = await setup('long answer please');
    const stream = A.beta.threads.runs.stream(thread.id, { assistant_id: asst.id });
    const deltas = [];
    const done = [];
    const names = [];
    let created = 0;
    stream.on('textDelta', (d, snapshot) => {
      deltas.push(d.value);
      assert.equal(snapshot.value, deltas.join(''), 'the textDelta snapshot accumulates the deltas');
    });
    stream.on('messageCreated', () => created++);
    stream.on('messageDone', (m) => done.push(m));
    stream.on('event', (e) => names.push(e.event));
    const finalMessages = await stream.finalMessages();
    const run = await stream.finalRun();

    const want = 'One two three four five six seven eight nine ten.';
    assert.ok(deltas.length >= 1, 'at least one text delta');
    assert.equal(deltas.join(''), want);
    assert.equal(created, 1);
    assert.equal(done.length, 1);
    assert.equal(done[0].status, 'completed');
    assert.deepEqual(done[0].content, [textPart(want)]);
    assert.equal(finalMessages.length, 1);
    assert.equal(finalMessages[0].id, done[0].id);
    assert.equal(messageText(finalMessages[0]), want);

    assertRun(run, { status: 'completed', thread_id: thread.id, assistant_id: asst.id });
    assertUsage(run.usage);
    assert.deepEqual(collapse(names), ['thread.run.created', 'thread.run.queued', ...TEXT_RUN_TAIL]);

    // The streamed message is the stored one.
    const stored = await A.beta.threads.messages.retrieve(done[0].id, { thread_id: thread.id });
    assert.deepEqual(stored.content, [textPart(want)]);
    assert.equal(stored.run_id, run.id);
    assert.deepEqual(await A.beta.threads.runs.retrieve(run.id, { thread_id: thread.id }), run);
  });

  it('createAndRunStream: thread.created first, then the run', async () => {
    const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini' });
    const stream = A.beta.threads.createAndRunStream({ assistant_id: asst.id, thread: { messages: [{ role: 'user', content: 'streamed thread' }] } });
    const names = [];
    let thread;
    stream.on('event', (e) => {
      names.push(e.event);
      if (e.event === 'thread.created') thread = e.data;
    });
    const run = await stream.finalRun();
    const msgs = await stream.finalMessages();
    assertRun(run, { status: 'completed' });
    assert.equal(thread?.id, run.thread_id);
    assert.deepEqual(collapse(names), ['thread.created', 'thread.run.created', 'thread.run.queued', ...TEXT_RUN_TAIL]);
    assert.deepEqual(msgs.map(messageText), ['You said: streamed thread']);
    const stored = (await A.beta.threads.messages.list(run.thread_id, { order: 'asc' })).data;
    assert.deepEqual(stored.map((m) => [m.role, messageText(m)]), [['user', 'streamed thread'], ['assistant', 'You said: streamed thread']]);
  });

  it('a requires_action stream, then submitToolOutputsStream to completion', async () => {
    const { asst, thread } = await setup('weather in two cities?', { tools: [WEATHER_TOOL] });
    const s1 = A.beta.threads.runs.stream(thread.id, { assistant_id: asst.id });
    const names1 = [];
    const toolCallsDone = [];
    s1.on('event', (e) => names1.push(e.event));
    s1.on('toolCallDone', (tc) => toolCallsDone.push(tc));
    const run = await s1.finalRun();
    assertRun(run, { status: 'requires_action' });
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    assert.equal(calls.length, 2);
    const c1 = collapse(names1);
    assert.deepEqual(c1.slice(0, 5), ['thread.run.created', 'thread.run.queued', 'thread.run.in_progress', 'thread.run.step.created', 'thread.run.step.in_progress']);
    assert.equal(c1.at(-1), 'thread.run.requires_action');
    assert.ok(!names1.includes('thread.message.created'), 'no message for a tool-calls-only turn');
    // Tool calls stream as step deltas, so the helper reports them.
    assert.ok(names1.includes('thread.run.step.delta'), `tool calls stream as thread.run.step.delta: ${c1}`);
    assert.deepEqual(toolCallsDone.map((t) => t.id).sort(), calls.map((c) => c.id).sort());
    const steps1 = await s1.finalRunSteps();
    assert.equal(steps1.length, 1);
    assert.equal(steps1[0].type, 'tool_calls');
    assert.deepEqual(steps1[0].step_details.tool_calls.map((t) => t.id), calls.map((c) => c.id));
    assert.deepEqual(steps1[0].step_details.tool_calls.map((t) => JSON.parse(t.function.arguments).location), ['Paris', 'Tokyo']);

    const s2 = A.beta.threads.runs.submitToolOutputsStream(run.id, {
      thread_id: thread.id,
      tool_outputs: calls.map((c) => ({ tool_call_id: c.id, output: `sunny in ${JSON.parse(c.function.arguments).location}` })),
    });
    const names2 = [];
    const deltas = [];
    s2.on('event', (e) => names2.push(e.event));
    s2.on('textDelta', (d) => deltas.push(d.value));
    const final = await s2.finalRun();
    assertRun(final, { status: 'completed', id: run.id });
    assert.equal(deltas.join(''), 'The weather is sunny in Tokyo.');
    assert.deepEqual(collapse(names2), ['thread.run.step.completed', 'thread.run.queued', ...TEXT_RUN_TAIL]);
    const msgs = await s2.finalMessages();
    assert.deepEqual(msgs.map(messageText), ['The weather is sunny in Tokyo.']);
  });

  it('a failing model: the stream ends with thread.run.failed', async () => {
    const { asst, thread } = await setup('boom500');
    const stream = A.beta.threads.runs.stream(thread.id, { assistant_id: asst.id });
    const names = [];
    stream.on('event', (e) => names.push(e.event));
    const run = await stream.finalRun();
    assertRun(run, { status: 'failed' });
    assert.equal(run.last_error.code, 'server_error');
    assert.equal(names.at(-1), 'thread.run.failed');
    assert.deepEqual(names.slice(0, 3), ['thread.run.created', 'thread.run.queued', 'thread.run.in_progress']);
  });
});

describe('raw stream: true', () => {
  it('runs.create: every event in order, data objects match their events', async () => {
    const { asst, thread } = await setup('raw stream');
    const stream = await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, stream: true });
    assert.equal(typeof stream[Symbol.asyncIterator], 'function', 'stream: true returns an SDK Stream');
    assert.ok(stream.controller instanceof AbortController);
    const events = await drain(stream);
    const names = events.map((e) => e.event);
    assert.deepEqual(collapse(names), ['thread.run.created', 'thread.run.queued', ...TEXT_RUN_TAIL]);
    const runID = events[0].data.id;
    checkEventData(events, { runID, threadID: thread.id });
    const text = events.filter((e) => e.event === 'thread.message.delta').map((e) => e.data.delta.content.map((p) => p.text.value).join('')).join('');
    assert.equal(text, 'You said: raw stream');
    const completed = events.at(-1).data;
    assertUsage(completed.usage);
    assert.deepEqual(await A.beta.threads.runs.retrieve(runID, { thread_id: thread.id }), completed);
  });

  it('createAndRun: thread.created first', async () => {
    const asst = await A.beta.assistants.create({ model: 'gpt-4o-mini' });
    const stream = await A.beta.threads.createAndRun({ assistant_id: asst.id, thread: { messages: [{ role: 'user', content: 'hi' }] }, stream: true });
    const events = await drain(stream);
    assert.deepEqual(collapse(events.map((e) => e.event)), ['thread.created', 'thread.run.created', 'thread.run.queued', ...TEXT_RUN_TAIL]);
    checkEventData(events, { runID: events[1].data.id, threadID: events[0].data.id });
  });

  it('submit_tool_outputs with stream: true', async () => {
    const { asst, thread } = await setup('weather?', { tools: [WEATHER_TOOL] });
    const events1 = await drain(await A.beta.threads.runs.create(thread.id, { assistant_id: asst.id, stream: true }));
    const last = events1.at(-1);
    assert.equal(last.event, 'thread.run.requires_action');
    const run = last.data;
    checkEventData(events1, { runID: run.id, threadID: thread.id });
    const [call] = run.required_action.submit_tool_outputs.tool_calls;
    assert.equal(call.function.name, 'get_weather');

    const events2 = await drain(
      await A.beta.threads.runs.submitToolOutputs(run.id, { thread_id: thread.id, tool_outputs: [{ tool_call_id: call.id, output: 'sunny' }], stream: true }),
    );
    assert.deepEqual(collapse(events2.map((e) => e.event)), ['thread.run.step.completed', 'thread.run.queued', ...TEXT_RUN_TAIL]);
    checkEventData(events2, { runID: run.id, threadID: thread.id });
    const toolStep = events2[0].data;
    assert.equal(toolStep.type, 'tool_calls');
    assert.equal(toolStep.step_details.tool_calls[0].function.output, 'sunny');
  });

  it('text deltas carry annotations: [] so that finalMessages() snapshots are complete', async () => {
    const { asst, thread } = await setup('annotations please');
    const stream = A.beta.threads.runs.stream(thread.id, { assistant_id: asst.id });
    const [m] = await stream.finalMessages();
    assert.deepEqual(m.content[0].text.annotations, []);
    const events = await drain(await A.beta.threads.runs.create((await A.beta.threads.create({ messages: [{ role: 'user', content: 'x' }] })).id, { assistant_id: asst.id, stream: true }));
    const first = events.find((e) => e.event === 'thread.message.delta');
    assert.deepEqual(first.data.delta.content[0].text.annotations, []);
  });

  it('stream: true errors before the stream starts are plain API errors', async () => {
    const thread = await A.beta.threads.create();
    await expectAPIError(A.beta.threads.runs.create(thread.id, { assistant_id: 'asst_doesnotexist', stream: true }), OpenAI.NotFoundError, 404);
    await expectAPIError(A.beta.threads.createAndRun({ assistant_id: 'asst_doesnotexist', stream: true }), OpenAI.NotFoundError, 404);
  });
});
