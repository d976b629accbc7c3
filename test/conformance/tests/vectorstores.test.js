// Vector stores and file_search through the official npm SDK: the
// uploadAndPoll / createAndPoll helpers, search, file content, batches,
// deletes, errors, and a run whose answer cites the file it searched.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startRunServer, raw } from '../server.js';
import { OpenAI, assertDeleted, assertListEnvelope, expectAPIError } from '../common.js';

const ANSWER = 'The Moon pulls the oceans【0†tides.md】.';

const SCRIPT = {
  rules: [
    { match: { last_role: 'tool', tool_result_contains: '【0†' }, reply: { text: ANSWER } },
    { match: { last_role: 'tool' }, reply: { text: 'Nothing found.' } },
    { match: { tool_available: 'file_search' }, reply: { tool_calls: [{ name: 'file_search', arguments: { query: '{{last_user}}' } }] } },
  ],
};

const TIDES = '# Tides\n\nOcean tides are caused by the gravitational pull of the Moon and the Sun.';
const BEES = 'Honey bees tell each other where flowers are with the waggle dance.';

let srv, A, B;

before(async () => {
  srv = await startRunServer({ script: SCRIPT });
  A = srv.clientA;
  B = srv.clientB;
});
after(async () => {
  await srv?.stop();
});

function assertVectorStore(vs) {
  assert.equal(vs.object, 'vector_store');
  assert.match(vs.id, /^vs_/);
  for (const k of ['created_at', 'name', 'usage_bytes', 'file_counts', 'status', 'last_active_at', 'metadata']) assert.ok(k in vs, `missing ${k}`);
  for (const k of ['in_progress', 'completed', 'failed', 'cancelled', 'total']) assert.equal(typeof vs.file_counts[k], 'number', k);
}

describe('vector stores', () => {
  it('uploadAndPoll, search, content, delete', async () => {
    const vs = await A.vectorStores.create({ name: 'notes', metadata: { team: 'geo' } });
    assertVectorStore(vs);
    assert.equal(vs.name, 'notes');
    assert.equal(vs.status, 'completed');
    assert.deepEqual(vs.metadata, { team: 'geo' });

    const f = await A.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from(TIDES), 'tides.md'));
    assert.equal(f.object, 'vector_store.file');
    assert.equal(f.status, 'completed');
    assert.equal(f.last_error, null);
    assert.deepEqual(f.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } });
    const g = await A.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from(BEES), 'bees.txt'));
    assert.equal(g.status, 'completed');

    const got = await A.vectorStores.retrieve(vs.id);
    assert.equal(got.file_counts.completed, 2);
    assert.equal(got.file_counts.total, 2);
    assert.ok(got.usage_bytes > 0);

    const results = [];
    for await (const r of A.vectorStores.search(vs.id, { query: 'what causes the tides?' })) results.push(r);
    assert.ok(results.length >= 1);
    assert.equal(results[0].filename, 'tides.md');
    assert.equal(results[0].file_id, f.id);
    assert.ok(results[0].score > 0 && results[0].score <= 1, `score ${results[0].score}`);
    assert.equal(results[0].content[0].type, 'text');
    assert.match(results[0].content[0].text, /gravitational pull/);

    const content = [];
    for await (const part of A.vectorStores.files.content(f.id, { vector_store_id: vs.id })) content.push(part);
    assert.match(content.map((p) => p.text).join(''), /Ocean tides/);

    const list = await raw(srv, 'GET', `/vector_stores/${vs.id}/files?filter=completed`);
    assert.equal(list.status, 200);
    assertListEnvelope(list.body, [g.id, f.id]);

    const updated = await A.vectorStores.files.update(g.id, { vector_store_id: vs.id, attributes: { topic: 'insects', year: 2024 } });
    assert.deepEqual(updated.attributes, { topic: 'insects', year: 2024 });
    const filtered = [];
    for await (const r of A.vectorStores.search(vs.id, { query: 'honey bees flowers', filters: { type: 'eq', key: 'topic', value: 'insects' } })) filtered.push(r);
    assert.deepEqual(filtered.map((r) => r.filename), ['bees.txt']);

    assertDeleted(await A.vectorStores.files.delete(f.id, { vector_store_id: vs.id }), f.id, 'vector_store.file.deleted');
    const after = [];
    for await (const r of A.vectorStores.search(vs.id, { query: 'tides moon' })) after.push(r);
    assert.ok(!after.some((r) => r.file_id === f.id), 'the deleted file is still found');

    await expectAPIError(B.vectorStores.retrieve(vs.id), OpenAI.NotFoundError, 404);
    assertDeleted(await A.vectorStores.delete(vs.id), vs.id, 'vector_store.deleted');
    await expectAPIError(A.vectorStores.retrieve(vs.id), OpenAI.NotFoundError, 404);
  });

  it('file batches: uploadAndPoll and createAndPoll', async () => {
    const vs = await A.vectorStores.create({});
    const batch = await A.vectorStores.fileBatches.uploadAndPoll(vs.id, {
      files: [await toFile(Buffer.from('alpha note about kiwis'), 'a.txt'), await toFile(Buffer.from('beta note about emus'), 'b.txt')],
    });
    assert.equal(batch.object, 'vector_store.files_batch');
    assert.match(batch.id, /^vsfb_/);
    assert.equal(batch.status, 'completed');
    assert.equal(batch.file_counts.completed, 2);

    const file = await A.files.create({ file: await toFile(Buffer.from('gamma note about moas'), 'c.txt'), purpose: 'assistants' });
    const b2 = await A.vectorStores.fileBatches.createAndPoll(vs.id, { file_ids: [file.id] });
    assert.equal(b2.status, 'completed');
    const files = [];
    for await (const f of A.vectorStores.fileBatches.listFiles(b2.id, { vector_store_id: vs.id })) files.push(f);
    assert.deepEqual(files.map((f) => f.id), [file.id]);
    const cancelled = await A.vectorStores.fileBatches.cancel(b2.id, { vector_store_id: vs.id });
    assert.equal(cancelled.file_counts.completed, 1);
  });

  it('a file that cannot be parsed fails cleanly', async () => {
    const vs = await A.vectorStores.create({});
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const f = await A.vectorStores.files.uploadAndPoll(vs.id, await toFile(png, 'pixel.png'));
    assert.equal(f.status, 'failed');
    assert.equal(f.last_error.code, 'unsupported_file');
    const ok = await A.vectorStores.files.uploadAndPoll(vs.id, await toFile(Buffer.from(BEES), 'bees.txt'));
    assert.equal(ok.status, 'completed');
    const got = await A.vectorStores.retrieve(vs.id);
    assert.equal(got.file_counts.failed, 1);
    assert.equal(got.file_counts.completed, 1);
  });

  it('bad requests are 400s naming the field', async () => {
    await expectAPIError(A.vectorStores.create({ file_ids: ['file-nope'] }), OpenAI.BadRequestError, 400, { param: 'file_ids[0]' });
    const vs = await A.vectorStores.create({});
    await expectAPIError(A.vectorStores.search(vs.id, { query: 'x', max_num_results: 51 }), OpenAI.BadRequestError, 400, { param: 'max_num_results' });
    await expectAPIError(
      A.vectorStores.create({ expires_after: { anchor: 'created_at', days: 2 } }),
      OpenAI.BadRequestError,
      400,
      { param: 'expires_after.anchor' },
    );
  });
});

describe('file_search in runs', () => {
  it('answers with a file_citation to the searched file', async () => {
    const file = await A.files.create({ file: await toFile(Buffer.from(TIDES), 'tides.md'), purpose: 'assistants' });
    const assistant = await A.beta.assistants.create({
      model: 'gpt-4o',
      tools: [{ type: 'file_search' }],
      tool_resources: { file_search: { vector_stores: [{ file_ids: [file.id] }] } },
    });
    const storeID = assistant.tool_resources.file_search.vector_store_ids[0];
    assert.match(storeID, /^vs_/);
    // Wait for ingestion (the helper's store is created in the background).
    for (let i = 0; i < 200; i++) {
      const vs = await A.vectorStores.retrieve(storeID);
      if (vs.file_counts.in_progress === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const run = await A.beta.threads.createAndRunPoll({
      assistant_id: assistant.id,
      thread: { messages: [{ role: 'user', content: 'ocean tides moon' }] },
    });
    assert.equal(run.status, 'completed');
    const msgs = await A.beta.threads.messages.list(run.thread_id);
    const text = msgs.data[0].content[0].text;
    assert.equal(text.value, ANSWER);
    assert.equal(text.annotations.length, 1);
    const a = text.annotations[0];
    assert.equal(a.type, 'file_citation');
    assert.equal(a.file_citation.file_id, file.id);
    assert.equal(a.text, '【0†tides.md】');
    assert.equal(a.start_index, [...ANSWER.slice(0, ANSWER.indexOf('【'))].length);
    assert.equal(a.end_index - a.start_index, [...'【0†tides.md】'].length);

    const steps = await A.beta.threads.runs.steps.list(run.id, {
      thread_id: run.thread_id,
      include: ['step_details.tool_calls[*].file_search.results[*].content'],
      order: 'asc',
    });
    const call = steps.data[0].step_details.tool_calls[0];
    assert.equal(call.type, 'file_search');
    assert.equal(call.file_search.results[0].file_id, file.id);
    assert.equal(call.file_search.results[0].file_name, 'tides.md');
    assert.match(call.file_search.results[0].content[0].text, /gravitational pull/);
  });
});
