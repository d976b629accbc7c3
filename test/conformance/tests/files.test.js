import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toFile } from 'openai';
import { startServer, raw } from '../server.js';
import { OpenAI, assertFile, assertDeleted, assertListEnvelope, expectAPIError } from '../common.js';

let srv, client, tmp;

before(async () => {
  srv = await startServer();
  client = srv.clientA;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'assistd-files-'));
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await srv?.stop();
});

async function bytesOf(resp) {
  return Buffer.from(await resp.arrayBuffer());
}

describe('files', () => {
  it('uploads from fs.createReadStream and returns a file object', async () => {
    const p = path.join(tmp, 'notes.md');
    const content = '# Notes\n\nhello, assistd — ünïcødé ✓\n';
    fs.writeFileSync(p, content);
    const f = await client.files.create({ file: fs.createReadStream(p), purpose: 'assistants' });
    assertFile(f, { filename: 'notes.md', bytes: Buffer.byteLength(content), purpose: 'assistants' });

    const got = await client.files.retrieve(f.id);
    assert.deepEqual(got, f);

    const body = await bytesOf(await client.files.content(f.id));
    assert.deepEqual(body, Buffer.from(content));
  });

  it('round-trips arbitrary binary bytes via toFile()', async () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 7)) & 0xff;
    const f = await client.files.create({ file: await toFile(data, 'blob.bin'), purpose: 'user_data' });
    assertFile(f, { filename: 'blob.bin', bytes: data.length, purpose: 'user_data' });
    const body = await bytesOf(await client.files.content(f.id));
    assert.equal(body.length, data.length);
    assert.ok(body.equals(data), 'downloaded bytes differ from uploaded bytes');
  });

  it('accepts an empty file', async () => {
    const f = await client.files.create({ file: await toFile(Buffer.alloc(0), 'empty.txt'), purpose: 'assistants' });
    assertFile(f, { filename: 'empty.txt', bytes: 0, purpose: 'assistants' });
    const body = await bytesOf(await client.files.content(f.id));
    assert.equal(body.length, 0);
  });

  for (const purpose of ['assistants', 'assistants_output', 'vision', 'batch', 'user_data']) {
    it(`accepts purpose=${purpose}`, async () => {
      const name = purpose === 'vision' ? 'pic.png' : purpose === 'batch' ? 'batch.jsonl' : `${purpose}.txt`;
      const content =
        purpose === 'vision'
          ? Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5a8e40000000049454e44ae426082', 'hex')
          : Buffer.from(purpose === 'batch' ? '{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{}}\n' : `p=${purpose}`);
      const f = await client.files.create({ file: await toFile(content, name), purpose });
      assertFile(f, { filename: name, bytes: content.length, purpose });
    });
  }

  it('rejects an unknown purpose with 400 param=purpose', async () => {
    await expectAPIError(
      client.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'bogus' }),
      OpenAI.BadRequestError,
      400,
      { param: 'purpose' },
    );
  });

  it('rejects a missing purpose with 400 param=purpose', async () => {
    const form = new FormData();
    form.append('file', new Blob(['x']), 'x.txt');
    const r = await raw(srv, 'POST', '/files', { body: form, beta: null });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.type, 'invalid_request_error');
    assert.equal(r.body.error.param, 'purpose');
  });

  it('rejects a missing file with 400 param=file', async () => {
    const form = new FormData();
    form.append('purpose', 'assistants');
    const r = await raw(srv, 'POST', '/files', { body: form, beta: null });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.type, 'invalid_request_error');
    assert.equal(r.body.error.param, 'file');
  });

  it('lists with purpose filter, order and after/limit pagination', async () => {
    // A fresh project-scoped view: create 5 vision files, in order.
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const f = await client.files.create({ file: await toFile(Buffer.from(`img${i}`), `list${i}.png`), purpose: 'vision' });
      ids.push(f.id);
    }
    // Purpose filter: every returned file has that purpose.
    const all = [];
    for await (const f of client.files.list({ purpose: 'vision' })) {
      assertFile(f);
      assert.equal(f.purpose, 'vision');
      all.push(f.id);
    }
    for (const id of ids) assert.ok(all.includes(id), `list(purpose=vision) misses ${id}`);
    // Default order is desc (newest first): our 5 appear reversed.
    const ours = all.filter((id) => ids.includes(id));
    assert.deepEqual(ours, [...ids].reverse());

    const asc = [];
    for await (const f of client.files.list({ purpose: 'vision', order: 'asc' })) asc.push(f.id);
    assert.deepEqual(asc, [...all].reverse());

    // Another purpose does not contain them.
    for await (const f of client.files.list({ purpose: 'batch' })) {
      assert.equal(f.purpose, 'batch');
      assert.ok(!ids.includes(f.id));
    }

    // Paging with limit=2 through asc order reaches every file exactly once.
    let page = await client.files.list({ purpose: 'vision', order: 'asc', limit: 2 });
    const paged = [];
    let pages = 0;
    for (;;) {
      pages++;
      assert.ok(page.data.length <= 2);
      paged.push(...page.data.map((f) => f.id));
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    assert.deepEqual(paged, asc);
    assert.ok(pages >= 3);

    // Raw envelope and the after cursor.
    const r = await raw(srv, 'GET', `/files?purpose=vision&order=asc&limit=2&after=${asc[0]}`, { beta: null });
    assert.equal(r.status, 200, r.text);
    assertListEnvelope(r.body, asc.slice(1, 3));
    assert.equal(r.body.has_more, asc.length > 3);

    // No purpose filter returns files of several purposes.
    const purposes = new Set();
    for await (const f of client.files.list()) purposes.add(f.purpose);
    assert.ok(purposes.has('vision') && purposes.has('assistants'));
  });

  it('rejects an out-of-range limit (files allow 1..10000)', async () => {
    let r = await raw(srv, 'GET', '/files?limit=10000', { beta: null });
    assert.equal(r.status, 200, r.text);
    r = await raw(srv, 'GET', '/files?limit=10001', { beta: null });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.param, 'limit');
    await expectAPIError(client.files.list({ limit: 0 }), OpenAI.BadRequestError, 400, { param: 'limit' });
  });

  it('deletes a file: {id, object:"file", deleted:true}; then 404 everywhere', async () => {
    const f = await client.files.create({ file: await toFile(Buffer.from('bye'), 'bye.txt'), purpose: 'assistants' });
    const d = await client.files.delete(f.id);
    assertDeleted(d, f.id, 'file');
    await expectAPIError(client.files.retrieve(f.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.files.content(f.id), OpenAI.NotFoundError, 404);
    await expectAPIError(client.files.delete(f.id), OpenAI.NotFoundError, 404);
    for await (const x of client.files.list()) assert.notEqual(x.id, f.id);
  });

  it('404 for a missing file id', async () => {
    await expectAPIError(client.files.retrieve('file-doesnotexist'), OpenAI.NotFoundError, 404);
    await expectAPIError(client.files.content('file-doesnotexist'), OpenAI.NotFoundError, 404);
  });
});
