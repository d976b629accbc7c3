// Shared shape assertions (from openapi.yaml / ASSISTANTS_API.md) and error helpers.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

export { OpenAI };

/** Request options that make one SDK call speak v1 (the SDK's own assistants=v2 header is per request, so defaultHeaders cannot override it). */
export const V1 = Object.freeze({ headers: { 'OpenAI-Beta': 'assistants=v1' } });

const now = () => Math.floor(Date.now() / 1000);

export function assertUnixTime(v, field) {
  assert.equal(typeof v, 'number', `${field} must be a number, got ${JSON.stringify(v)}`);
  assert.ok(Number.isInteger(v), `${field} must be an integer (Unix seconds), got ${v}`);
  // Seconds, not milliseconds; created within the last hour and not in the future (+5 s slack).
  assert.ok(v > now() - 3600 && v <= now() + 5, `${field}=${v} is not a recent Unix time in seconds`);
}

export function assertKeys(obj, required, optional = [], what = 'object') {
  for (const k of required) assert.ok(Object.hasOwn(obj, k), `${what}: missing required field '${k}' in ${JSON.stringify(obj)}`);
  const allowed = new Set([...required, ...optional]);
  for (const k of Object.keys(obj)) assert.ok(allowed.has(k), `${what}: unexpected field '${k}' in ${JSON.stringify(obj)}`);
}

/** OpenAIFile. */
export function assertFile(f, { filename, bytes, purpose } = {}) {
  assertKeys(f, ['id', 'object', 'bytes', 'created_at', 'filename', 'purpose', 'status'], ['expires_at', 'status_details'], 'file');
  assert.equal(f.object, 'file');
  assert.equal(typeof f.id, 'string');
  assert.match(f.id, /^file-/, 'file ids start with "file-"');
  assertUnixTime(f.created_at, 'file.created_at');
  assert.ok(['uploaded', 'processed', 'error'].includes(f.status), `file.status ${f.status}`);
  if (f.expires_at !== undefined && f.expires_at !== null) assert.ok(Number.isInteger(f.expires_at));
  if (filename !== undefined) assert.equal(f.filename, filename);
  if (bytes !== undefined) assert.equal(f.bytes, bytes);
  if (purpose !== undefined) assert.equal(f.purpose, purpose);
}

const ASSISTANT_KEYS = ['id', 'object', 'created_at', 'name', 'description', 'model', 'instructions', 'tools', 'metadata'];
const ASSISTANT_OPT = ['tool_resources', 'temperature', 'top_p', 'response_format'];

/** AssistantObject (v2). `expect` fields are compared deeply. */
export function assertAssistant(a, expect = {}) {
  assertKeys(a, ASSISTANT_KEYS, ASSISTANT_OPT, 'assistant');
  assert.equal(a.object, 'assistant');
  assert.match(a.id, /^asst_/);
  assertUnixTime(a.created_at, 'assistant.created_at');
  assert.equal(typeof a.model, 'string');
  assert.ok(Array.isArray(a.tools), 'assistant.tools is an array');
  assert.equal(typeof a.metadata, 'object');
  assert.notEqual(a.metadata, null, 'assistant.metadata is {} when unset, never null');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(a[k], v, `assistant.${k}`);
}

/** Normalises a v2 tool_resources echo: {code_interpreter:{file_ids}, file_search:{vector_store_ids}}. */
export function toolResourceFileIDs(tr) {
  return tr?.code_interpreter?.file_ids ?? [];
}

export function assertThread(t, expect = {}) {
  assertKeys(t, ['id', 'object', 'created_at', 'tool_resources', 'metadata'], [], 'thread');
  assert.equal(t.object, 'thread');
  assert.match(t.id, /^thread_/);
  assertUnixTime(t.created_at, 'thread.created_at');
  assert.notEqual(t.metadata, null);
  assert.equal(typeof t.metadata, 'object');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(t[k], v, `thread.${k}`);
}

const MESSAGE_KEYS = [
  'id', 'object', 'created_at', 'thread_id', 'status', 'incomplete_details', 'completed_at', 'incomplete_at',
  'role', 'content', 'assistant_id', 'run_id', 'attachments', 'metadata',
];

/** MessageObject as created through the API (status completed, run_id/assistant_id null). */
export function assertMessage(m, expect = {}) {
  assertKeys(m, MESSAGE_KEYS, [], 'message');
  assert.equal(m.object, 'thread.message');
  assert.match(m.id, /^msg_/);
  assertUnixTime(m.created_at, 'message.created_at');
  assert.match(m.thread_id, /^thread_/);
  assert.ok(['user', 'assistant'].includes(m.role));
  assert.ok(Array.isArray(m.content), 'message.content is an array');
  assert.ok(m.attachments === null || Array.isArray(m.attachments), 'message.attachments is array|null');
  assert.notEqual(m.metadata, null);
  assert.equal(typeof m.metadata, 'object');
  // Messages created via the API.
  assert.equal(m.status, 'completed');
  assert.equal(m.incomplete_details, null);
  assert.equal(m.incomplete_at, null);
  assert.equal(m.run_id, null);
  assert.equal(m.assistant_id, null);
  for (const part of m.content) assertContentPart(part);
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(m[k], v, `message.${k}`);
}

export function assertContentPart(p) {
  switch (p.type) {
    case 'text':
      assertKeys(p, ['type', 'text'], [], 'text part');
      assertKeys(p.text, ['value', 'annotations'], [], 'text part .text');
      assert.equal(typeof p.text.value, 'string');
      assert.ok(Array.isArray(p.text.annotations));
      break;
    case 'image_file':
      assertKeys(p, ['type', 'image_file'], [], 'image_file part');
      assert.equal(typeof p.image_file.file_id, 'string');
      break;
    case 'image_url':
      assertKeys(p, ['type', 'image_url'], [], 'image_url part');
      assert.equal(typeof p.image_url.url, 'string');
      break;
    case 'refusal':
      assertKeys(p, ['type', 'refusal'], [], 'refusal part');
      break;
    default:
      assert.fail(`unknown content part type ${p.type}`);
  }
}

/** A text content part exactly as the API echoes a plain string. */
export const textPart = (value) => ({ type: 'text', text: { value, annotations: [] } });

/** The list envelope of a raw JSON list response. */
export function assertListEnvelope(body, ids) {
  assertKeys(body, ['object', 'data', 'first_id', 'last_id', 'has_more'], [], 'list');
  assert.equal(body.object, 'list');
  assert.ok(Array.isArray(body.data));
  assert.equal(typeof body.has_more, 'boolean');
  if (body.data.length === 0) {
    assert.ok(body.first_id === null || body.first_id === undefined || body.first_id === '');
  } else {
    assert.equal(body.first_id, body.data[0].id);
    assert.equal(body.last_id, body.data.at(-1).id);
  }
  if (ids) assert.deepEqual(body.data.map((d) => d.id), ids);
}

/** Checks the delete response shape. */
export function assertDeleted(d, id, object) {
  assert.deepEqual(d, { id, object, deleted: true });
}

/**
 * Awaits p, expects it to reject with the given SDK error class and status;
 * checks the OpenAI error object shape. Returns the error.
 */
export async function expectAPIError(p, Cls, status, { param, type = 'invalid_request_error', code } = {}) {
  let err;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${Cls.name} (${status}), but the call succeeded`);
  assert.ok(err instanceof Cls, `expected ${Cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, status);
  assertErrorObject(err.error);
  if (type !== undefined) assert.equal(err.type, type, `error.type (message: ${err.error?.message})`);
  if (param !== undefined) assert.equal(err.param, param, `error.param (message: ${err.error?.message})`);
  if (code !== undefined) assert.equal(err.code, code, `error.code (message: ${err.error?.message})`);
  return err;
}

/** {"message","type","param","code"}: all four present; message/type strings; param/code string|null. */
export function assertErrorObject(e) {
  assert.ok(e && typeof e === 'object', `error body missing: ${JSON.stringify(e)}`);
  assertKeys(e, ['message', 'type', 'param', 'code'], [], 'error');
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok(e.param === null || typeof e.param === 'string');
  assert.ok(e.code === null || typeof e.code === 'string');
}

export function metadataOf(n, prefix = 'k') {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]));
}

const RUN_KEYS = [
  'id', 'object', 'created_at', 'thread_id', 'assistant_id', 'status', 'required_action', 'last_error', 'expires_at',
  'started_at', 'cancelled_at', 'failed_at', 'completed_at', 'incomplete_details', 'model', 'instructions', 'tools',
  'metadata', 'usage', 'temperature', 'top_p', 'max_prompt_tokens', 'max_completion_tokens', 'truncation_strategy',
  'tool_choice', 'parallel_tool_calls', 'response_format',
];
export const RUN_STATUSES = ['queued', 'in_progress', 'requires_action', 'cancelling', 'cancelled', 'failed', 'completed', 'incomplete', 'expired'];

/** RunObject (v2); `expect` fields are compared deeply. */
export function assertRun(r, expect = {}) {
  assertKeys(r, RUN_KEYS, ['reasoning_effort'], 'run');
  assert.equal(r.object, 'thread.run');
  assert.match(r.id, /^run_/);
  assert.match(r.thread_id, /^thread_/);
  assert.match(r.assistant_id, /^asst_/);
  assertUnixTime(r.created_at, 'run.created_at');
  assert.ok(RUN_STATUSES.includes(r.status), `run.status ${r.status}`);
  assert.ok(Array.isArray(r.tools), 'run.tools is an array');
  assert.equal(typeof r.metadata, 'object');
  assert.notEqual(r.metadata, null);
  for (const f of ['started_at', 'cancelled_at', 'failed_at', 'completed_at']) {
    if (r[f] !== null) assertUnixTime(r[f], `run.${f}`);
  }
  if (r.status === 'completed') {
    assert.notEqual(r.completed_at, null, 'completed run has completed_at');
    assert.equal(r.last_error, null);
    assert.equal(r.required_action, null);
    assert.equal(r.expires_at, null, 'a terminal run has expires_at null');
  }
  if (r.status === 'requires_action') {
    assert.equal(r.required_action?.type, 'submit_tool_outputs');
    assert.ok(Array.isArray(r.required_action.submit_tool_outputs.tool_calls));
  } else {
    assert.equal(r.required_action, null, `required_action is null unless requires_action (status ${r.status})`);
  }
  if (r.status === 'failed') {
    assert.ok(r.last_error && typeof r.last_error.code === 'string' && typeof r.last_error.message === 'string', `failed run last_error ${JSON.stringify(r.last_error)}`);
    assertUnixTime(r.failed_at, 'run.failed_at');
  }
  if (r.usage !== null) assertUsage(r.usage, 'run.usage');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(r[k], v, `run.${k}`);
}

export function assertUsage(u, what = 'usage') {
  assertKeys(u, ['prompt_tokens', 'completion_tokens', 'total_tokens'], [], what);
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) assert.ok(Number.isInteger(u[k]) && u[k] >= 0, `${what}.${k} ${u[k]}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `${what}.total_tokens`);
}

const STEP_KEYS = [
  'id', 'object', 'created_at', 'assistant_id', 'thread_id', 'run_id', 'type', 'status', 'step_details', 'last_error',
  'expired_at', 'cancelled_at', 'failed_at', 'completed_at', 'metadata', 'usage',
];

/** RunStepObject (v2). */
export function assertStep(s, expect = {}) {
  assertKeys(s, STEP_KEYS, [], 'run step');
  assert.equal(s.object, 'thread.run.step');
  assert.match(s.id, /^step_/);
  assertUnixTime(s.created_at, 'step.created_at');
  assert.ok(['message_creation', 'tool_calls'].includes(s.type), `step.type ${s.type}`);
  assert.ok(['in_progress', 'cancelled', 'failed', 'completed', 'expired'].includes(s.status), `step.status ${s.status}`);
  assert.equal(s.step_details.type, s.type);
  if (s.type === 'message_creation') assert.match(s.step_details.message_creation.message_id, /^msg_/);
  else assert.ok(Array.isArray(s.step_details.tool_calls));
  if (s.usage !== null) assertUsage(s.usage, 'step.usage');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(s[k], v, `step.${k}`);
}

/** The text of an assistant message's (single) text part. */
export function messageText(m) {
  return m.content.filter((p) => p.type === 'text').map((p) => p.text.value).join('');
}
