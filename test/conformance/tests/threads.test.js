import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import {
  OpenAI, assertThread, assertMessage, assertDeleted, expectAPIError, metadataOf, textPart, toolResourceFileIDs,
} from '../common.js';

let srv, client;

before(async () => {
  srv = await startServer();
  client = srv.clientA;
});
after(async () => {
  await srv?.stop();
});

describe('threads', () => {
  it('creates an empty thread (no body)', async () => {
    const t = await client.beta.threads.create();
    assertThread(t, { metadata: {} });
    if (t.tool_resources !== null) {
      assert.deepEqual(toolResourceFileIDs(t.tool_resources), []);
      assert.deepEqual(t.tool_resources.file_search?.vector_store_ids ?? [], []);
    }
    assert.deepEqual(await client.beta.threads.retrieve(t.id), t);
    const msgs = await client.beta.threads.messages.list(t.id);
    assert.deepEqual(msgs.data, []);
  });

  it('creates a thread with an empty JSON object body via raw HTTP', async () => {
    const r = await raw(srv, 'POST', '/threads', { body: {} });
    assert.equal(r.status, 200, r.text);
    assertThread(r.body, { metadata: {} });
  });

  it('creates with messages, tool_resources and metadata', async () => {
    const f = await client.files.create({ file: await toFile(Buffer.from('a,b\n1,2\n'), 'data.csv'), purpose: 'assistants' });
    const t = await client.beta.threads.create({
      messages: [
        { role: 'user', content: 'first', metadata: { i: '0' } },
        { role: 'assistant', content: [{ type: 'text', text: 'second' }] },
        { role: 'user', content: 'third' },
      ],
      tool_resources: { code_interpreter: { file_ids: [f.id] } },
      metadata: { user: 'u1' },
    });
    assertThread(t, { metadata: { user: 'u1' } });
    assert.deepEqual(t.tool_resources.code_interpreter.file_ids, [f.id]);
    assert.deepEqual(await client.beta.threads.retrieve(t.id), t);

    const msgs = [];
    for await (const m of client.beta.threads.messages.list(t.id, { order: 'asc' })) msgs.push(m);
    assert.equal(msgs.length, 3);
    msgs.forEach((m) => assertMessage(m, { thread_id: t.id }));
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.deepEqual(msgs[0].content, [textPart('first')]);
    assert.deepEqual(msgs[1].content, [textPart('second')]);
    assert.deepEqual(msgs[2].content, [textPart('third')]);
    assert.deepEqual(msgs[0].metadata, { i: '0' });
    assert.deepEqual(msgs[1].metadata, {});
    // Default order is desc.
    const desc = (await client.beta.threads.messages.list(t.id)).data.map((m) => m.id);
    assert.deepEqual(desc, msgs.map((m) => m.id).reverse());
  });

  it('updates metadata and tool_resources', async () => {
    const f1 = await client.files.create({ file: await toFile(Buffer.from('1'), '1.txt'), purpose: 'assistants' });
    const f2 = await client.files.create({ file: await toFile(Buffer.from('2'), '2.txt'), purpose: 'assistants' });
    const t = await client.beta.threads.create({ metadata: { a: '1' }, tool_resources: { code_interpreter: { file_ids: [f1.id] } } });
    const u = await client.beta.threads.update(t.id, { metadata: { b: '2' } });
    assertThread(u, { id: t.id, created_at: t.created_at, metadata: { b: '2' } });
    assert.deepEqual(u.tool_resources.code_interpreter.file_ids, [f1.id], 'tool_resources kept when not in the update');
    const u2 = await client.beta.threads.update(t.id, { tool_resources: { code_interpreter: { file_ids: [f2.id] } } });
    assert.deepEqual(u2.tool_resources.code_interpreter.file_ids, [f2.id]);
    assert.deepEqual(u2.metadata, { b: '2' }, 'metadata kept when not in the update');
    assert.deepEqual(await client.beta.threads.retrieve(t.id), u2);
  });

  it('deletes: {id, object:"thread.deleted", deleted:true}; then 404 incl. its messages', async () => {
    const t = await client.beta.threads.create({ messages: [{ role: 'user', content: 'hi' }] });
    const [m] = (await client.beta.threads.messages.list(t.id)).data;
    const d = await client.beta.threads.delete(t.id);
    assertDeleted(d, t.id, 'thread.deleted');
    await expectAPIError(client.beta.threads.retrieve(t.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.update(t.id, { metadata: {} }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.delete(t.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.list(t.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.retrieve(m.id, { thread_id: t.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.create(t.id, { role: 'user', content: 'x' }), OpenAI.NotFoundError, 404);
  });

  it('validates input', async () => {
    const bad = (body, param) => expectAPIError(client.beta.threads.create(body), OpenAI.BadRequestError, 400, { param });
    await bad({ metadata: metadataOf(17) }, 'metadata');
    await bad({ bogus: 1 }, 'bogus');
    await bad({ messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role');
    await bad({ messages: [{ role: 'user' }] }, 'messages[0].content');
    await bad({ messages: [{ role: 'user', content: 'ok' }, { role: 'user', content: [] }] }, 'messages[1].content');
    await bad(
      { tool_resources: { code_interpreter: { file_ids: Array.from({ length: 21 }, (_, i) => `file-${i}`) } } },
      'tool_resources.code_interpreter.file_ids',
    );
    const t = await client.beta.threads.create();
    await expectAPIError(client.beta.threads.update(t.id, { metadata: metadataOf(17) }), OpenAI.BadRequestError, 400, { param: 'metadata' });
    await expectAPIError(client.beta.threads.update(t.id, { messages: [] }), OpenAI.BadRequestError, 400, { param: 'messages' });
    // A failed create must not leave a thread behind: nothing to verify by id, but the valid boundary works.
    const ok = await client.beta.threads.create({ metadata: metadataOf(16) });
    assert.equal(Object.keys(ok.metadata).length, 16);
  });

  it('404 for a missing thread id', async () => {
    await expectAPIError(client.beta.threads.retrieve('thread_doesnotexist'), OpenAI.NotFoundError, 404);
  });
});
