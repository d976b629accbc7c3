import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import { OpenAI, assertAssistant, assertDeleted, assertListEnvelope, expectAPIError, metadataOf } from '../common.js';

let srv, client;

before(async () => {
  srv = await startServer();
  client = srv.clientA;
});
after(async () => {
  await srv?.stop();
});

describe('assistants', () => {
  it('creates with only a model: every default', async () => {
    const a = await client.beta.assistants.create({ model: 'gpt-4o' });
    assertAssistant(a, {
      model: 'gpt-4o',
      name: null,
      description: null,
      instructions: null,
      tools: [],
      metadata: {},
    });
    // Optional fields, when echoed, carry their spec defaults.
    if ('temperature' in a) assert.ok(a.temperature === 1 || a.temperature === null, `temperature ${a.temperature}`);
    if ('top_p' in a) assert.ok(a.top_p === 1 || a.top_p === null, `top_p ${a.top_p}`);
    if ('response_format' in a) assert.ok(a.response_format === 'auto' || a.response_format === null, `response_format ${JSON.stringify(a.response_format)}`);
    if ('tool_resources' in a && a.tool_resources !== null) {
      assert.deepEqual(a.tool_resources.code_interpreter?.file_ids ?? [], []);
      assert.deepEqual(a.tool_resources.file_search?.vector_store_ids ?? [], []);
    }
    assert.deepEqual(await client.beta.assistants.retrieve(a.id), a);
  });

  it('creates with every field and echoes them', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from('print(1)'), 'a.py'), purpose: 'assistants' });
    const tools = [
      { type: 'code_interpreter' },
      { type: 'file_search' },
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          strict: true,
        },
      },
    ];
    const body = {
      model: 'gpt-4o-mini',
      name: 'Math Tutor',
      description: 'Helps with math',
      instructions: 'You are a personal math tutor.',
      tools,
      tool_resources: { code_interpreter: { file_ids: [file.id] } },
      metadata: { team: 'core', n: '1' },
      temperature: 0.5,
      top_p: 0.9,
      response_format: { type: 'json_object' },
    };
    const a = await client.beta.assistants.create(body);
    assertAssistant(a, {
      model: body.model,
      name: body.name,
      description: body.description,
      instructions: body.instructions,
      metadata: body.metadata,
      temperature: 0.5,
      top_p: 0.9,
      response_format: { type: 'json_object' },
    });
    assert.equal(a.tools.length, 3);
    assert.deepEqual(a.tools[0], { type: 'code_interpreter' });
    assert.equal(a.tools[1].type, 'file_search');
    assert.equal(a.tools[2].type, 'function');
    assert.equal(a.tools[2].function.name, 'get_weather');
    assert.equal(a.tools[2].function.description, 'Weather for a city');
    assert.deepEqual(a.tools[2].function.parameters, tools[2].function.parameters);
    assert.equal(a.tools[2].function.strict, true);
    assert.deepEqual(a.tool_resources.code_interpreter.file_ids, [file.id]);
    assert.deepEqual(await client.beta.assistants.retrieve(a.id), a);
  });

  it('accepts every response_format form', async () => {
    for (const rf of [
      'auto',
      { type: 'text' },
      { type: 'json_object' },
      { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object', properties: { x: { type: 'integer' } } }, strict: true } },
    ]) {
      const a = await client.beta.assistants.create({ model: 'gpt-4o', response_format: rf });
      if (typeof rf === 'string') assert.equal(a.response_format, rf);
      else {
        assert.equal(a.response_format.type, rf.type);
        if (rf.json_schema) {
          assert.equal(a.response_format.json_schema.name, 'out');
          assert.deepEqual(a.response_format.json_schema.schema, rf.json_schema.schema);
          assert.equal(a.response_format.json_schema.strict, true);
        }
      }
    }
  });

  it('updates: changed fields replaced, others kept, metadata replaced', async () => {
    const a = await client.beta.assistants.create({
      model: 'gpt-4o',
      name: 'before',
      instructions: 'keep me',
      tools: [{ type: 'code_interpreter' }],
      metadata: { a: '1' },
    });
    const u = await client.beta.assistants.update(a.id, {
      name: 'after',
      description: 'new description',
      model: 'gpt-4.1',
      metadata: { b: '2' },
    });
    assertAssistant(u, {
      id: a.id,
      created_at: a.created_at,
      name: 'after',
      description: 'new description',
      model: 'gpt-4.1',
      instructions: 'keep me',
      tools: [{ type: 'code_interpreter' }],
      metadata: { b: '2' },
    });
    assert.deepEqual(await client.beta.assistants.retrieve(a.id), u);

    // Empty update changes nothing.
    const same = await client.beta.assistants.update(a.id, {});
    assert.deepEqual(same, u);

    // tools replaced; name cleared to null.
    const u2 = await client.beta.assistants.update(a.id, { tools: [], name: null });
    assertAssistant(u2, { tools: [], name: null, instructions: 'keep me' });
  });

  it('update tool_resources overrides the file list', async () => {
    const f1 = await client.files.create({ file: await toFile(Buffer.from('1'), '1.txt'), purpose: 'assistants' });
    const f2 = await client.files.create({ file: await toFile(Buffer.from('2'), '2.txt'), purpose: 'assistants' });
    const a = await client.beta.assistants.create({
      model: 'gpt-4o',
      tools: [{ type: 'code_interpreter' }],
      tool_resources: { code_interpreter: { file_ids: [f1.id] } },
    });
    assert.deepEqual(a.tool_resources.code_interpreter.file_ids, [f1.id]);
    const u = await client.beta.assistants.update(a.id, { tool_resources: { code_interpreter: { file_ids: [f2.id] } } });
    assert.deepEqual(u.tool_resources.code_interpreter.file_ids, [f2.id]);
  });

  it('deletes: {id, object:"assistant.deleted", deleted:true}; then 404', async () => {
    const a = await client.beta.assistants.create({ model: 'gpt-4o' });
    const d = await client.beta.assistants.delete(a.id);
    assertDeleted(d, a.id, 'assistant.deleted');
    await expectAPIError(client.beta.assistants.retrieve(a.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.assistants.update(a.id, { name: 'x' }), OpenAI.NotFoundError, 404);
    await expectAPIError(client.beta.assistants.delete(a.id), OpenAI.NotFoundError, 404);
  });

  it('lists with auto-pagination across many pages (limit 2), desc by default', async () => {
    // Use a fresh project so the list holds exactly our assistants.
    const c = srv.clientB;
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await c.beta.assistants.create({ model: 'gpt-4o', name: `p${i}` })).id);

    const seen = [];
    for await (const a of c.beta.assistants.list({ limit: 2 })) {
      assertAssistant(a);
      seen.push(a.id);
    }
    assert.deepEqual(seen, [...ids].reverse(), 'default order is desc (newest first)');

    const asc = [];
    for await (const a of c.beta.assistants.list({ limit: 3, order: 'asc' })) asc.push(a.id);
    assert.deepEqual(asc, ids);

    // Manual paging with hasNextPage/getNextPage.
    let page = await c.beta.assistants.list({ limit: 2, order: 'asc' });
    const pages = [];
    for (;;) {
      pages.push(page.data.map((a) => a.id));
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    assert.deepEqual(pages, [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4, 6), ids.slice(6, 7)]);

    // Raw envelope: first_id/last_id/has_more, after and before cursors.
    let r = await raw(srv, 'GET', '/assistants?order=asc&limit=3', { key: srv.keyB });
    assert.equal(r.status, 200, r.text);
    assertListEnvelope(r.body, ids.slice(0, 3));
    assert.equal(r.body.has_more, true);
    r = await raw(srv, 'GET', `/assistants?order=asc&limit=3&after=${ids[4]}`, { key: srv.keyB });
    assertListEnvelope(r.body, ids.slice(5));
    assert.equal(r.body.has_more, false);
    r = await raw(srv, 'GET', `/assistants?order=asc&before=${ids[3]}`, { key: srv.keyB });
    assertListEnvelope(r.body, ids.slice(0, 3));
    assert.equal(r.body.has_more, false);
    // before + limit returns the items immediately preceding the cursor.
    r = await raw(srv, 'GET', `/assistants?order=asc&limit=2&before=${ids[5]}`, { key: srv.keyB });
    assertListEnvelope(r.body, [ids[3], ids[4]]);
    assert.equal(r.body.has_more, true);
    r = await raw(srv, 'GET', `/assistants?order=desc&before=${ids[3]}`, { key: srv.keyB });
    assertListEnvelope(r.body, ids.slice(4).reverse());
    r = await raw(srv, 'GET', `/assistants?order=desc&limit=2&after=${ids[5]}`, { key: srv.keyB });
    assertListEnvelope(r.body, [ids[4], ids[3]]);
    assert.equal(r.body.has_more, true);
    // Default limit is 20: all 7 in one page.
    r = await raw(srv, 'GET', '/assistants', { key: srv.keyB });
    assertListEnvelope(r.body, [...ids].reverse());
    assert.equal(r.body.has_more, false);

    // Deleted assistants leave the list.
    await c.beta.assistants.delete(ids[3]);
    const after = [];
    for await (const a of c.beta.assistants.list({ order: 'asc' })) after.push(a.id);
    assert.deepEqual(after, ids.filter((_, i) => i !== 3));
  });

  it('list limit must be 1..100, order asc|desc', async () => {
    assert.equal((await raw(srv, 'GET', '/assistants?limit=100')).status, 200);
    await expectAPIError(client.beta.assistants.list({ limit: 101 }), OpenAI.BadRequestError, 400, { param: 'limit' });
    await expectAPIError(client.beta.assistants.list({ limit: 0 }), OpenAI.BadRequestError, 400, { param: 'limit' });
    await expectAPIError(client.beta.assistants.list({ order: 'sideways' }), OpenAI.BadRequestError, 400, { param: 'order' });
  });

  it('validates create input', async () => {
    const bad = (body, param) => expectAPIError(client.beta.assistants.create(body), OpenAI.BadRequestError, 400, { param });
    await bad({ name: 'no model' }, 'model');
    await bad({ model: 'gpt-4o', name: 'x'.repeat(257) }, 'name');
    await bad({ model: 'gpt-4o', description: 'x'.repeat(513) }, 'description');
    await bad({ model: 'gpt-4o', metadata: metadataOf(17) }, 'metadata');
    // Key/value limits: param names metadata (or the offending key under it).
    for (const metadata of [{ ['k'.repeat(65)]: 'v' }, { k: 'v'.repeat(513) }]) {
      const e = await expectAPIError(client.beta.assistants.create({ model: 'gpt-4o', metadata }), OpenAI.BadRequestError, 400, {});
      assert.match(e.param ?? '', /^metadata($|\.|\[)/, `param ${e.param}`);
    }
    await bad({ model: 'gpt-4o', temperature: 2.5 }, 'temperature');
    await bad({ model: 'gpt-4o', top_p: 1.5 }, 'top_p');
    await bad({ model: 'gpt-4o', bogus_field: 1 }, 'bogus_field');
    await bad({ model: 'gpt-4o', tools: [{ type: 'retrieval' }] }, 'tools[0].type');
    await bad({ model: 'gpt-4o', tools: [{ type: 'nope' }] }, 'tools[0].type');
    await bad({ model: 'gpt-4o', tools: Array.from({ length: 129 }, () => ({ type: 'code_interpreter' })) }, 'tools');
    await bad(
      { model: 'gpt-4o', tool_resources: { code_interpreter: { file_ids: Array.from({ length: 21 }, (_, i) => `file-${i}`) } } },
      'tool_resources.code_interpreter.file_ids',
    );
    // Boundaries that must pass.
    const ok = await client.beta.assistants.create({
      model: 'gpt-4o',
      name: 'n'.repeat(256),
      description: 'd'.repeat(512),
      metadata: { ...metadataOf(15), ['k'.repeat(64)]: 'v'.repeat(512) },
      temperature: 2,
      top_p: 0,
    });
    assertAssistant(ok, { name: 'n'.repeat(256), temperature: 2, top_p: 0 });
    assert.equal(Object.keys(ok.metadata).length, 16);
  });

  it('validates update input', async () => {
    const a = await client.beta.assistants.create({ model: 'gpt-4o' });
    const bad = (body, param) => expectAPIError(client.beta.assistants.update(a.id, body), OpenAI.BadRequestError, 400, { param });
    await bad({ name: 'x'.repeat(257) }, 'name');
    await bad({ metadata: metadataOf(17) }, 'metadata');
    await bad({ unknown: true }, 'unknown');
    // Nothing changed.
    assertAssistant(await client.beta.assistants.retrieve(a.id), { name: null, metadata: {} });
  });
});
