import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import { OpenAI, assertErrorObject, expectAPIError, metadataOf } from '../common.js';

let srv, A, B;

before(async () => {
  srv = await startServer();
  A = srv.clientA;
  B = srv.clientB;
});
after(async () => {
  await srv?.stop();
});

describe('server process', () => {
  it('logs a "ready" line', async () => {
    for (let i = 0; i < 40 && !/ready/.test(srv.logs()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(srv.logs(), /ready/);
  });

  it('answers with X-Request-Id', async () => {
    const r = await raw(srv, 'GET', '/assistants');
    assert.equal(r.status, 200);
    assert.ok(r.headers.get('x-request-id'), 'x-request-id header');
  });
});

describe('authentication', () => {
  it('bad key → AuthenticationError (401)', async () => {
    const bad = srv.client('sk-this-is-not-a-key');
    await expectAPIError(bad.beta.assistants.list(), OpenAI.AuthenticationError, 401, { code: 'invalid_api_key' });
    await expectAPIError(bad.files.list(), OpenAI.AuthenticationError, 401, { code: 'invalid_api_key' });
    await expectAPIError(bad.beta.threads.create(), OpenAI.AuthenticationError, 401, { code: 'invalid_api_key' });
  });

  it('missing Authorization header → 401 with an error object', async () => {
    const r = await fetch(`${srv.baseURL}/assistants`, { headers: { 'OpenAI-Beta': 'assistants=v2' } });
    assert.equal(r.status, 401);
    const body = await r.json();
    assertErrorObject(body.error);
  });

  it('bad key on raw HTTP → 401 with an error object', async () => {
    const r = await raw(srv, 'GET', '/files', { key: 'nope' });
    assert.equal(r.status, 401, r.text);
    assertErrorObject(r.body.error);
  });
});

describe('project isolation (another key\'s objects are 404)', () => {
  let asst, thread, msg, file, threadReady;
  before(async () => {
    file = await A.files.create({ file: await toFile(Buffer.from('secret'), 'secret.txt'), purpose: 'assistants' });
    asst = await A.beta.assistants.create({ model: 'gpt-4o', name: 'A only' });
  });
  // Created lazily so that a thread failure does not take the other cases down.
  const makeThread = () =>
    (threadReady ??= (async () => {
      thread = await A.beta.threads.create({ messages: [{ role: 'user', content: 'private' }] });
      msg = (await A.beta.threads.messages.list(thread.id)).data[0];
    })());

  it('assistant', async () => {
    await expectAPIError(B.beta.assistants.retrieve(asst.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.assistants.update(asst.id, { name: 'stolen' }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.assistants.delete(asst.id), OpenAI.NotFoundError, 404);
    for await (const a of B.beta.assistants.list()) assert.notEqual(a.id, asst.id);
    assert.equal((await A.beta.assistants.retrieve(asst.id)).name, 'A only');
  });

  it('thread', async () => {
    await makeThread();
    await expectAPIError(B.beta.threads.retrieve(thread.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.update(thread.id, { metadata: { x: 'y' } }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.delete(thread.id), OpenAI.NotFoundError, 404);
    assert.deepEqual((await A.beta.threads.retrieve(thread.id)).metadata, {});
  });

  it('message', async () => {
    await makeThread();
    await expectAPIError(B.beta.threads.messages.list(thread.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.messages.create(thread.id, { role: 'user', content: 'x' }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.messages.retrieve(msg.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.messages.update(msg.id, { thread_id: thread.id, metadata: {} }), OpenAI.NotFoundError, 404);
    await expectAPIError(B.beta.threads.messages.delete(msg.id, { thread_id: thread.id }), OpenAI.NotFoundError, 404);
    assert.equal((await A.beta.threads.messages.list(thread.id)).data.length, 1);
  });

  it('file', async () => {
    await expectAPIError(B.files.retrieve(file.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.files.content(file.id), OpenAI.NotFoundError, 404);
    await expectAPIError(B.files.delete(file.id), OpenAI.NotFoundError, 404);
    for await (const f of B.files.list()) assert.notEqual(f.id, file.id);
    const body = Buffer.from(await (await A.files.content(file.id)).arrayBuffer());
    assert.equal(body.toString(), 'secret');
  });

  it("cannot reference another project's file from tool_resources or attachments", async () => {
    let err;
    try {
      await B.beta.assistants.create({
        model: 'gpt-4o',
        tools: [{ type: 'code_interpreter' }],
        tool_resources: { code_interpreter: { file_ids: [file.id] } },
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OpenAI.BadRequestError || err instanceof OpenAI.NotFoundError, `expected 400/404, got ${err?.constructor?.name ?? 'success'}`);
    const t = await B.beta.threads.create();
    err = undefined;
    try {
      await B.beta.threads.messages.create(t.id, {
        role: 'user',
        content: 'x',
        attachments: [{ file_id: file.id, tools: [{ type: 'code_interpreter' }] }],
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OpenAI.BadRequestError || err instanceof OpenAI.NotFoundError, `expected 400/404, got ${err?.constructor?.name ?? 'success'}`);
  });
});

describe('bad requests', () => {
  it('metadata with 17 keys → 400 param=metadata', async () => {
    const e = await expectAPIError(A.beta.assistants.create({ model: 'gpt-4o', metadata: metadataOf(17) }), OpenAI.BadRequestError, 400, {
      param: 'metadata',
    });
    assert.equal(e.error.param, 'metadata');
  });

  it('name of 257 chars → 400 param=name', async () => {
    await expectAPIError(A.beta.assistants.create({ model: 'gpt-4o', name: 'x'.repeat(257) }), OpenAI.BadRequestError, 400, { param: 'name' });
  });

  it('unknown field → 400 naming the field', async () => {
    await expectAPIError(A.beta.assistants.create({ model: 'gpt-4o', colour: 'blue' }), OpenAI.BadRequestError, 400, { param: 'colour' });
  });

  it('missing model → 400 param=model', async () => {
    await expectAPIError(A.beta.assistants.create({ name: 'x' }), OpenAI.BadRequestError, 400, { param: 'model' });
  });

  it('wrong JSON type → 400', async () => {
    await expectAPIError(A.beta.assistants.create({ model: 42 }), OpenAI.BadRequestError, 400, { param: 'model' });
    await expectAPIError(A.beta.assistants.create({ model: 'gpt-4o', metadata: { k: 1 } }), OpenAI.BadRequestError, 400);
  });

  it('malformed JSON → 400 invalid_request_error', async () => {
    const r = await raw(srv, 'POST', '/assistants', { body: '{"model": "gpt-4o",', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400, r.text);
    assertErrorObject(r.body.error);
    assert.equal(r.body.error.type, 'invalid_request_error');
  });

  it('invalid OpenAI-Beta assistants version → 400', async () => {
    const r = await raw(srv, 'GET', '/assistants', { beta: 'assistants=v9' });
    assert.equal(r.status, 400, r.text);
    assertErrorObject(r.body.error);
  });

  it('missing ids → NotFoundError with the OpenAI error object', async () => {
    const e = await expectAPIError(A.beta.assistants.retrieve('asst_doesnotexist'), OpenAI.NotFoundError, 404);
    assert.match(e.error.message, /asst_doesnotexist/);
    await expectAPIError(A.beta.threads.retrieve('thread_doesnotexist'), OpenAI.NotFoundError, 404);
    await expectAPIError(A.files.retrieve('file-doesnotexist'), OpenAI.NotFoundError, 404);
  });

  it('unknown path → 404 with an error object', async () => {
    const r = await raw(srv, 'GET', '/no_such_endpoint');
    assert.equal(r.status, 404, r.text);
    assertErrorObject(r.body.error);
  });

  it('wrong method → 405 with an error object', async () => {
    for (const [method, p] of [
      ['PUT', '/assistants'],
      ['PATCH', '/files'],
      ['DELETE', '/threads'],
    ]) {
      const r = await raw(srv, method, p, method === 'DELETE' ? {} : { body: {} });
      assert.equal(r.status, 405, `${method} ${p}: ${r.text}`);
      assertErrorObject(r.body.error);
    }
    const a = await A.beta.assistants.create({ model: 'gpt-4o' });
    const r = await raw(srv, 'PATCH', `/assistants/${a.id}`, { body: { name: 'x' } });
    assert.equal(r.status, 405, r.text);
    assertErrorObject(r.body.error);
  });

  it('oversize JSON body (> 8 MiB default) → 413', async () => {
    const big = 'x'.repeat(9 << 20);
    let err;
    try {
      await A.beta.assistants.create({ model: 'gpt-4o', instructions: big });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${err?.constructor?.name ?? 'success'}`);
    assert.equal(err.status, 413);
    assertErrorObject(err.error);
  });
});

describe('upload size limit', () => {
  it('a file over max-upload-bytes (ASSISTD_MAX_UPLOAD_BYTES=4096) → 413, at the limit → 200', async () => {
    const small = await startServer({ env: { ASSISTD_MAX_UPLOAD_BYTES: '4096' } });
    try {
      const c = small.clientA;
      const ok = await c.files.create({ file: await toFile(Buffer.alloc(4096, 1), 'limit.bin'), purpose: 'assistants' });
      assert.equal(ok.bytes, 4096);
      let err;
      try {
        await c.files.create({ file: await toFile(Buffer.alloc(8192, 2), 'over.bin'), purpose: 'assistants' });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${err?.constructor?.name ?? 'success'}`);
      assert.equal(err.status, 413);
      assertErrorObject(err.error);
      // The rejected upload left nothing behind.
      const names = [];
      for await (const f of c.files.list()) names.push(f.filename);
      assert.deepEqual(names, ['limit.bin']);
    } finally {
      await small.stop();
    }
  });
});
