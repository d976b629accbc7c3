// OpenAI-Beta: assistants=v1, served by translation.
//
// The SDK sets 'OpenAI-Beta: assistants=v2' as a per-request header on every
// beta call, which overrides a client's defaultHeaders. So v1 is spoken by a
// client whose fetch rewrites the header, by per-request `headers` options
// (V1), and by raw fetch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import { OpenAI, V1, assertAssistant, assertKeys, assertUnixTime, assertThread, assertMessage, assertDeleted, expectAPIError, textPart } from '../common.js';

let srv, v2, v1, file, file2;

/** A client that speaks v1 on every request. */
function v1Client(srv) {
  return srv.client(srv.keyA, {
    defaultHeaders: { 'OpenAI-Beta': 'assistants=v1' },
    fetch: (url, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('OpenAI-Beta', 'assistants=v1');
      return fetch(url, { ...init, headers });
    },
  });
}

function assertAssistantV1(a, expect = {}) {
  assertKeys(a, ['id', 'object', 'created_at', 'name', 'description', 'model', 'instructions', 'tools', 'file_ids', 'metadata'], [], 'v1 assistant');
  assert.equal(a.object, 'assistant');
  assert.match(a.id, /^asst_/);
  assertUnixTime(a.created_at, 'created_at');
  assert.ok(Array.isArray(a.tools));
  assert.ok(Array.isArray(a.file_ids));
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(a[k], v, `v1 assistant.${k}`);
}

function assertThreadV1(t, expect = {}) {
  assertKeys(t, ['id', 'object', 'created_at', 'metadata'], [], 'v1 thread');
  assert.equal(t.object, 'thread');
  assertUnixTime(t.created_at, 'created_at');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(t[k], v, `v1 thread.${k}`);
}

function assertMessageV1(m, expect = {}) {
  assertKeys(
    m,
    ['id', 'object', 'created_at', 'thread_id', 'role', 'content', 'assistant_id', 'run_id', 'file_ids', 'metadata'],
    // Late-v1 fields (added in the v1 spec before v2) are tolerated; attachments is not.
    ['status', 'incomplete_details', 'completed_at', 'incomplete_at'],
    'v1 message',
  );
  assert.equal(m.object, 'thread.message');
  assert.ok(!('attachments' in m), 'v1 messages have no attachments field');
  assert.ok(Array.isArray(m.file_ids));
  assert.equal(m.run_id, null);
  assert.equal(m.assistant_id, null);
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(m[k], v, `v1 message.${k}`);
}

before(async () => {
  srv = await startServer();
  v2 = srv.clientA;
  v1 = v1Client(srv);
  file = await v2.files.create({ file: await toFile(Buffer.from('v1 data'), 'v1.txt'), purpose: 'assistants' });
  file2 = await v2.files.create({ file: await toFile(Buffer.from('v1 data 2'), 'v1b.txt'), purpose: 'assistants' });
});
after(async () => {
  await srv?.stop();
});

describe('v1 assistants', () => {
  it('create with retrieval + file_ids returns v1 shape; v2 sees file_search + tool_resources', async () => {
    const a = await v1.beta.assistants.create({
      model: 'gpt-4-turbo',
      name: 'Legacy',
      instructions: 'old school',
      tools: [{ type: 'retrieval' }, { type: 'code_interpreter' }],
      file_ids: [file.id],
      metadata: { v: '1' },
    });
    assertAssistantV1(a, {
      name: 'Legacy',
      description: null,
      model: 'gpt-4-turbo',
      instructions: 'old school',
      tools: [{ type: 'retrieval' }, { type: 'code_interpreter' }],
      file_ids: [file.id],
      metadata: { v: '1' },
    });

    const b = await v2.beta.assistants.retrieve(a.id);
    assertAssistant(b, { id: a.id, name: 'Legacy', model: 'gpt-4-turbo', metadata: { v: '1' } });
    assert.deepEqual(b.tools.map((t) => t.type), ['file_search', 'code_interpreter']);
    assert.deepEqual(b.tool_resources.code_interpreter.file_ids, [file.id]);
    assert.ok(!('file_ids' in b), 'v2 assistant has no file_ids');

    // Same object read back with v1 (per-request header and the v1 client agree).
    assert.deepEqual(await v1.beta.assistants.retrieve(a.id), a);
    assert.deepEqual(await v2.beta.assistants.retrieve(a.id, V1), a);
  });

  it('v2-created assistant reads back in v1 shape', async () => {
    const a = await v2.beta.assistants.create({
      model: 'gpt-4o',
      tools: [{ type: 'file_search' }],
      tool_resources: { code_interpreter: { file_ids: [file.id] } },
    });
    const old = await v1.beta.assistants.retrieve(a.id);
    assertAssistantV1(old, { tools: [{ type: 'retrieval' }], file_ids: [file.id], metadata: {} });
  });

  it('defaults: file_ids [] and tools []', async () => {
    const a = await v1.beta.assistants.create({ model: 'gpt-4' });
    assertAssistantV1(a, { tools: [], file_ids: [], metadata: {}, name: null, instructions: null });
  });

  it('update file_ids replaces tool_resources.code_interpreter.file_ids', async () => {
    const a = await v1.beta.assistants.create({ model: 'gpt-4', file_ids: [file.id] });
    const u = await v1.beta.assistants.update(a.id, { file_ids: [file2.id], tools: [{ type: 'retrieval' }] });
    assertAssistantV1(u, { file_ids: [file2.id], tools: [{ type: 'retrieval' }] });
    const b = await v2.beta.assistants.retrieve(a.id);
    assert.deepEqual(b.tool_resources.code_interpreter.file_ids, [file2.id]);
    assert.deepEqual(b.tools.map((t) => t.type), ['file_search']);
  });

  it('list and delete speak v1', async () => {
    const a = await v1.beta.assistants.create({ model: 'gpt-4', file_ids: [file.id] });
    let found = false;
    for await (const x of v1.beta.assistants.list({ limit: 2 })) {
      assertAssistantV1(x);
      if (x.id === a.id) found = true;
    }
    assert.ok(found);
    assertDeleted(await v1.beta.assistants.delete(a.id), a.id, 'assistant.deleted');
  });

  it('v2-only fields are refused on the v1 wire, v1-only fields on the v2 wire', async () => {
    await expectAPIError(v1.beta.assistants.create({ model: 'gpt-4', tools: [{ type: 'file_search' }] }), OpenAI.BadRequestError, 400, {
      param: 'tools[0].type',
    });
    await expectAPIError(
      v1.beta.assistants.create({ model: 'gpt-4', tool_resources: { code_interpreter: { file_ids: [file.id] } } }),
      OpenAI.BadRequestError,
      400,
      { param: 'tool_resources' },
    );
    await expectAPIError(v2.beta.assistants.create({ model: 'gpt-4', file_ids: [file.id] }), OpenAI.BadRequestError, 400, { param: 'file_ids' });
    await expectAPIError(v2.beta.assistants.create({ model: 'gpt-4', tools: [{ type: 'retrieval' }] }), OpenAI.BadRequestError, 400, {
      param: 'tools[0].type',
    });
    await expectAPIError(
      v1.beta.assistants.create({ model: 'gpt-4', file_ids: Array.from({ length: 21 }, () => file.id) }),
      OpenAI.BadRequestError,
      400,
      { param: 'file_ids' },
    );
  });

  it('raw HTTP with OpenAI-Beta: assistants=v1', async () => {
    const r = await raw(srv, 'POST', '/assistants', { beta: 'assistants=v1', body: { model: 'gpt-4', tools: [{ type: 'retrieval' }], file_ids: [file.id] } });
    assert.equal(r.status, 200, r.text);
    assertAssistantV1(r.body, { tools: [{ type: 'retrieval' }], file_ids: [file.id] });
  });
});

describe('v1 threads and messages', () => {
  it('thread has no tool_resources; messages carry file_ids, no attachments', async () => {
    const t = await v1.beta.threads.create({
      messages: [{ role: 'user', content: 'with a file', file_ids: [file.id] }],
      metadata: { dialect: 'v1' },
    });
    assertThreadV1(t, { metadata: { dialect: 'v1' } });
    assertThreadV1(await v1.beta.threads.retrieve(t.id), { id: t.id });
    assertThread(await v2.beta.threads.retrieve(t.id), { id: t.id, metadata: { dialect: 'v1' } });

    const list = await v1.beta.threads.messages.list(t.id);
    assert.equal(list.data.length, 1);
    const m = list.data[0];
    assertMessageV1(m, { thread_id: t.id, role: 'user', content: [textPart('with a file')], file_ids: [file.id] });

    // The same message in v2: file_ids → attachments.
    const m2 = await v2.beta.threads.messages.retrieve(m.id, { thread_id: t.id });
    assertMessage(m2, { id: m.id });
    assert.equal(m2.attachments.length, 1);
    assert.equal(m2.attachments[0].file_id, file.id);
    assert.ok(m2.attachments[0].tools.some((x) => x.type === 'code_interpreter'), JSON.stringify(m2.attachments));
    assert.ok(!('file_ids' in m2));
  });

  it('create message with file_ids; v2 attachments read back as v1 file_ids', async () => {
    const t = await v2.beta.threads.create();
    const m = await v1.beta.threads.messages.create(t.id, { role: 'user', content: 'two files', file_ids: [file.id, file2.id] });
    assertMessageV1(m, { file_ids: [file.id, file2.id], metadata: {} });
    assert.deepEqual(await v1.beta.threads.messages.retrieve(m.id, { thread_id: t.id }), m);

    const n = await v2.beta.threads.messages.create(t.id, {
      role: 'user',
      content: 'attached',
      attachments: [{ file_id: file2.id, tools: [{ type: 'code_interpreter' }] }],
    });
    const n1 = await v1.beta.threads.messages.retrieve(n.id, { thread_id: t.id });
    assertMessageV1(n1, { file_ids: [file2.id] });

    const plain = await v1.beta.threads.messages.create(t.id, { role: 'user', content: 'none' });
    assertMessageV1(plain, { file_ids: [] });

    await expectAPIError(
      v1.beta.threads.messages.create(t.id, { role: 'user', content: 'x', file_ids: Array.from({ length: 11 }, () => file.id) }),
      OpenAI.BadRequestError,
      400,
      { param: 'file_ids' },
    );
    await expectAPIError(
      v1.beta.threads.messages.create(t.id, { role: 'user', content: 'x', attachments: [{ file_id: file.id, tools: [{ type: 'code_interpreter' }] }] }),
      OpenAI.BadRequestError,
      400,
      { param: 'attachments' },
    );
  });

  it('v2-created thread with tool_resources reads back without them in v1', async () => {
    const t = await v2.beta.threads.create({ tool_resources: { code_interpreter: { file_ids: [file.id] } } });
    assertThreadV1(await v1.beta.threads.retrieve(t.id), { id: t.id, metadata: {} });
    await expectAPIError(
      v1.beta.threads.create({ tool_resources: { code_interpreter: { file_ids: [file.id] } } }),
      OpenAI.BadRequestError,
      400,
      { param: 'tool_resources' },
    );
  });
});

describe('v1 file sub-resources', () => {
  it('GET /assistants/{id}/files lists assistant.file objects', async () => {
    const a = await v1.beta.assistants.create({ model: 'gpt-4', file_ids: [file.id, file2.id] });
    const r = await raw(srv, 'GET', `/assistants/${a.id}/files?order=asc`, { beta: 'assistants=v1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.object, 'list');
    assert.deepEqual(r.body.data.map((x) => x.id).sort(), [file.id, file2.id].sort());
    for (const x of r.body.data) {
      assertKeys(x, ['id', 'object', 'created_at', 'assistant_id'], [], 'assistant.file');
      assert.equal(x.object, 'assistant.file');
      assert.equal(x.assistant_id, a.id);
    }
    const one = await raw(srv, 'GET', `/assistants/${a.id}/files/${file.id}`, { beta: 'assistants=v1' });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.id, file.id);
  });

  it('GET /threads/{id}/messages/{id}/files lists thread.message.file objects', async () => {
    const t = await v1.beta.threads.create();
    const m = await v1.beta.threads.messages.create(t.id, { role: 'user', content: 'f', file_ids: [file.id] });
    const r = await raw(srv, 'GET', `/threads/${t.id}/messages/${m.id}/files`, { beta: 'assistants=v1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.object, 'list');
    assert.deepEqual(r.body.data.map((x) => x.id), [file.id]);
    assertKeys(r.body.data[0], ['id', 'object', 'created_at', 'message_id'], [], 'thread.message.file');
    assert.equal(r.body.data[0].object, 'thread.message.file');
    assert.equal(r.body.data[0].message_id, m.id);
  });
});
