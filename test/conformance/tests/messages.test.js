import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import { OpenAI, assertMessage, assertDeleted, assertListEnvelope, expectAPIError, metadataOf, textPart } from '../common.js';

let srv, client, thread, fileA, fileB, image;

before(async () => {
  srv = await startServer();
  client = srv.clientA;
  thread = await client.beta.threads.create();
  fileA = await client.files.create({ file: await toFile(Buffer.from('alpha'), 'a.txt'), purpose: 'assistants' });
  fileB = await client.files.create({ file: await toFile(Buffer.from('beta'), 'b.txt'), purpose: 'assistants' });
  image = await client.files.create({
    file: await toFile(
      Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5a8e40000000049454e44ae426082', 'hex'),
      'dot.png',
    ),
    purpose: 'vision',
  });
});
after(async () => {
  await srv?.stop();
});

describe('messages', () => {
  it('creates a text message: every field and default', async () => {
    const m = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'How does AI work?' });
    assertMessage(m, {
      thread_id: thread.id,
      role: 'user',
      content: [textPart('How does AI work?')],
      metadata: {},
    });
    assert.ok(m.attachments === null || (Array.isArray(m.attachments) && m.attachments.length === 0), `attachments ${JSON.stringify(m.attachments)}`);
    assert.deepEqual(await client.beta.threads.messages.retrieve(m.id, { thread_id: thread.id }), m);
  });

  it('creates with content parts (text, image_file, image_url), attachments and metadata', async () => {
    const m = await client.beta.threads.messages.create(thread.id, {
      role: 'user',
      content: [
        { type: 'text', text: 'look at these' },
        { type: 'image_file', image_file: { file_id: image.id, detail: 'high' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
        { type: 'image_url', image_url: { url: 'https://example.com/dog.jpg' } },
      ],
      attachments: [
        { file_id: fileA.id, tools: [{ type: 'code_interpreter' }] },
        { file_id: fileB.id, tools: [{ type: 'code_interpreter' }] },
      ],
      metadata: { source: 'test' },
    });
    assertMessage(m, { role: 'user', metadata: { source: 'test' } });
    assert.equal(m.content.length, 4);
    assert.deepEqual(m.content[0], textPart('look at these'));
    assert.deepEqual(m.content[1], { type: 'image_file', image_file: { file_id: image.id, detail: 'high' } });
    assert.deepEqual(m.content[2], { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } });
    assert.equal(m.content[3].type, 'image_url');
    assert.equal(m.content[3].image_url.url, 'https://example.com/dog.jpg');
    if ('detail' in m.content[3].image_url) assert.equal(m.content[3].image_url.detail, 'auto');
    assert.deepEqual(m.attachments, [
      { file_id: fileA.id, tools: [{ type: 'code_interpreter' }] },
      { file_id: fileB.id, tools: [{ type: 'code_interpreter' }] },
    ]);
    assert.deepEqual(await client.beta.threads.messages.retrieve(m.id, { thread_id: thread.id }), m);
  });

  it('creates an assistant-role message', async () => {
    const m = await client.beta.threads.messages.create(thread.id, { role: 'assistant', content: 'I am the assistant' });
    assertMessage(m, { role: 'assistant', content: [textPart('I am the assistant')] });
  });

  it('lists with order, after, before, limit and run_id', async () => {
    const t = await client.beta.threads.create();
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await client.beta.threads.messages.create(t.id, { role: 'user', content: `m${i}` })).id);

    const asc = [];
    for await (const m of client.beta.threads.messages.list(t.id, { order: 'asc', limit: 2 })) {
      assertMessage(m, { thread_id: t.id });
      asc.push(m.id);
    }
    assert.deepEqual(asc, ids, 'messages list in creation order (asc)');

    const desc = [];
    for await (const m of client.beta.threads.messages.list(t.id, { limit: 4 })) desc.push(m.id);
    assert.deepEqual(desc, [...ids].reverse(), 'default order desc');

    let page = await client.beta.threads.messages.list(t.id, { order: 'asc', limit: 4 });
    assert.deepEqual(page.data.map((m) => m.id), ids.slice(0, 4));
    assert.equal(page.hasNextPage(), true);
    page = await page.getNextPage();
    assert.deepEqual(page.data.map((m) => m.id), ids.slice(4));
    assert.equal(page.hasNextPage(), false);

    let r = await raw(srv, 'GET', `/threads/${t.id}/messages?order=asc&after=${ids[1]}&limit=2`);
    assert.equal(r.status, 200, r.text);
    assertListEnvelope(r.body, ids.slice(2, 4));
    assert.equal(r.body.has_more, true);
    r = await raw(srv, 'GET', `/threads/${t.id}/messages?order=asc&before=${ids[3]}`);
    assertListEnvelope(r.body, ids.slice(0, 3));
    assert.equal(r.body.has_more, false);
    r = await raw(srv, 'GET', `/threads/${t.id}/messages?order=desc&before=${ids[2]}`);
    assertListEnvelope(r.body, [ids[5], ids[4], ids[3]]);

    // run_id filter: API-created messages have run_id null, so a run id matches none.
    const byRun = await client.beta.threads.messages.list(t.id, { run_id: 'run_doesnotexist' });
    assert.deepEqual(byRun.data, []);
    r = await raw(srv, 'GET', `/threads/${t.id}/messages?run_id=run_doesnotexist`);
    assert.equal(r.status, 200, r.text);
    assertListEnvelope(r.body, []);
    assert.equal(r.body.has_more, false);

    await expectAPIError(client.beta.threads.messages.list(t.id, { limit: 101 }), OpenAI.BadRequestError, 400, { param: 'limit' });
  });

  it('updates metadata only', async () => {
    const m = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'meta', metadata: { a: '1' } });
    const u = await client.beta.threads.messages.update(m.id, { thread_id: thread.id, metadata: { b: '2' } });
    assertMessage(u, { id: m.id, created_at: m.created_at, content: m.content, metadata: { b: '2' } });
    assert.deepEqual(await client.beta.threads.messages.retrieve(m.id, { thread_id: thread.id }), u);
    await expectAPIError(
      client.beta.threads.messages.update(m.id, { thread_id: thread.id, metadata: metadataOf(17) }),
      OpenAI.BadRequestError,
      400,
      { param: 'metadata' },
    );
    await expectAPIError(
      client.beta.threads.messages.update(m.id, { thread_id: thread.id, content: 'changed' }),
      OpenAI.BadRequestError,
      400,
      { param: 'content' },
    );
  });

  it('deletes: {id, object:"thread.message.deleted", deleted:true}; then 404', async () => {
    const m = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'delete me' });
    const d = await client.beta.threads.messages.delete(m.id, { thread_id: thread.id });
    assertDeleted(d, m.id, 'thread.message.deleted');
    await expectAPIError(client.beta.threads.messages.retrieve(m.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.delete(m.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    for await (const x of client.beta.threads.messages.list(thread.id)) assert.notEqual(x.id, m.id);
  });

  it('a message is only reachable through its own thread', async () => {
    const other = await client.beta.threads.create();
    const m = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'mine' });
    await expectAPIError(client.beta.threads.messages.retrieve(m.id, { thread_id: other.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.update(m.id, { thread_id: other.id, metadata: {} }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.delete(m.id, { thread_id: other.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.threads.messages.retrieve('msg_doesnotexist', { thread_id: thread.id }), OpenAI.NotFoundError, 404);
  });

  it('validates input', async () => {
    const bad = (body, param) => expectAPIError(client.beta.threads.messages.create(thread.id, body), OpenAI.BadRequestError, 400, { param });
    await bad({ content: 'no role' }, 'role');
    await bad({ role: 'system', content: 'x' }, 'role');
    await bad({ role: 'user' }, 'content');
    await bad({ role: 'user', content: [] }, 'content');
    await bad({ role: 'user', content: 'x', metadata: metadataOf(17) }, 'metadata');
    await bad({ role: 'user', content: 'x', bogus: true }, 'bogus');
    await bad({ role: 'user', content: [{ type: 'video', video: {} }] }, 'content[0].type');
    await bad({ role: 'user', content: 'x', attachments: [{ file_id: fileA.id, tools: [{ type: 'function' }] }] }, 'attachments[0].tools[0].type');
  });
});
