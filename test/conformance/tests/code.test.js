// code_interpreter through the SDK: a scripted model calls the tool, the
// code runs in the real sandbox (bubblewrap), the step records the input,
// logs and an image (a File whose content is a PNG); state persists between
// two runs of a thread; files of tool_resources are in /mnt/data; bad file
// lists are 400s. Skipped (loudly) when the server reports the sandbox
// unavailable (scripts/setup.sh installs it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { startRunServer } from '../server.js';
import { OpenAI, assertStep, expectAPIError, messageText } from '../common.js';

const call = (code) => ({ tool_calls: [{ name: 'code_interpreter', arguments: { code } }] });

const SCRIPT = {
  rules: [
    { match: { last_role: 'tool' }, reply: { text: 'Done: {{last_tool_result}}' } },
    {
      match: { last_role: 'user', user_contains: 'plot', tool_available: 'code_interpreter' },
      reply: call(
        [
          'import pandas as pd, matplotlib',
          "matplotlib.use('Agg')",
          'import matplotlib.pyplot as plt',
          "df = pd.read_csv('/mnt/data/data.csv')",
          "total = int(df['v'].sum())",
          "plt.plot(df['v'])",
          "print('sum', total)",
        ].join('\n'),
      ),
    },
    { match: { last_role: 'user', user_contains: 'again', tool_available: 'code_interpreter' }, reply: call('print("next", total + 1)') },
  ],
};

let srv, A, unavailable;

before(async () => {
  srv = await startRunServer({ script: SCRIPT });
  A = srv.clientA;
  // serve logs this before it answers HTTP when the sandbox fails its self test.
  if (/code_interpreter unavailable/.test(srv.logs())) {
    unavailable = 'SKIPPED, SANDBOX UNAVAILABLE: run scripts/setup.sh as root';
    console.error(`\n!!! ${unavailable}\n`);
  }
});
after(async () => {
  await srv?.stop();
});

async function upload(name, body) {
  return A.files.create({ file: await toFile(Buffer.from(body), name), purpose: 'assistants' });
}

async function runAndWait(threadID, assistantID) {
  const run = await A.beta.threads.runs.createAndPoll(threadID, { assistant_id: assistantID }, { pollIntervalMs: 50 });
  assert.equal(run.status, 'completed', `run ${run.id}: ${JSON.stringify(run.last_error)}\n${srv.logs()}`);
  return run;
}

describe('code_interpreter', () => {
  it('runs the code: tool_calls step with input, logs and a PNG image; a tool_resources file is readable; state persists across runs', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const csv = await upload('data.csv', 'v\n1\n2\n38\n');
    const asst = await A.beta.assistants.create({ model: 'gpt-4o', tools: [{ type: 'code_interpreter' }] });
    const thread = await A.beta.threads.create({
      messages: [{ role: 'user', content: 'plot my data' }],
      tool_resources: { code_interpreter: { file_ids: [csv.id] } },
    });

    const run = await runAndWait(thread.id, asst.id);
    const steps = (await A.beta.threads.runs.steps.list(run.id, { thread_id: thread.id, order: 'asc' })).data;
    assert.equal(steps.length, 2, JSON.stringify(steps));
    steps.forEach((s) => assertStep(s));
    const [toolStep, msgStep] = steps;
    assert.equal(toolStep.type, 'tool_calls');
    assert.equal(toolStep.status, 'completed');
    assert.equal(msgStep.type, 'message_creation');
    const tc = toolStep.step_details.tool_calls;
    assert.equal(tc.length, 1);
    assert.equal(tc[0].type, 'code_interpreter');
    assert.match(tc[0].id, /^call_/);
    assert.match(tc[0].code_interpreter.input, /read_csv\('\/mnt\/data\/data.csv'\)/);
    const outputs = tc[0].code_interpreter.outputs;
    const logs = outputs.filter((o) => o.type === 'logs');
    const images = outputs.filter((o) => o.type === 'image');
    assert.equal(logs.length, 1, JSON.stringify(outputs));
    assert.match(logs[0].logs, /sum 41/); // read from the tool_resources file
    assert.equal(images.length, 1, JSON.stringify(outputs));

    const imageID = images[0].image.file_id;
    const f = await A.files.retrieve(imageID);
    assert.equal(f.purpose, 'assistants_output');
    const png = Buffer.from(await (await A.files.content(imageID)).arrayBuffer());
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.ok(png.length > 1000, `PNG of ${png.length} bytes`);

    const msgs = (await A.beta.threads.messages.list(thread.id, { order: 'asc' })).data;
    const answer = msgs[msgs.length - 1];
    assert.equal(answer.role, 'assistant');
    assert.match(messageText(answer), /sum 41/);
    assert.ok(
      answer.content.some((p) => p.type === 'image_file' && p.image_file.file_id === imageID),
      `the message shows the image: ${JSON.stringify(answer.content)}`,
    );

    // A second run on the thread sees the variable of the first.
    await A.beta.threads.messages.create(thread.id, { role: 'user', content: 'again' });
    const run2 = await runAndWait(thread.id, asst.id);
    const steps2 = (await A.beta.threads.runs.steps.list(run2.id, { thread_id: thread.id, order: 'asc' })).data;
    const logs2 = steps2[0].step_details.tool_calls[0].code_interpreter.outputs.find((o) => o.type === 'logs');
    assert.match(logs2.logs, /next 42/, JSON.stringify(steps2));
  });

  it('rejects 21 files in tool_resources.code_interpreter.file_ids', async () => {
    const f = await upload('one.txt', '1');
    const ids = Array.from({ length: 21 }, () => f.id);
    const tr = { code_interpreter: { file_ids: ids } };
    const e = await expectAPIError(A.beta.threads.create({ tool_resources: tr }), OpenAI.BadRequestError, 400, {
      param: 'tool_resources.code_interpreter.file_ids',
    });
    assert.match(e.message, /maximum length 20/);
    await expectAPIError(
      A.beta.assistants.create({ model: 'gpt-4o', tools: [{ type: 'code_interpreter' }], tool_resources: tr }),
      OpenAI.BadRequestError,
      400,
      {},
    );
  });

  it('rejects a missing file id', async () => {
    const tr = { code_interpreter: { file_ids: ['file-doesnotexist'] } };
    const e = await expectAPIError(A.beta.threads.create({ tool_resources: tr }), OpenAI.BadRequestError, 400, {});
    assert.match(e.message, /file-doesnotexist/);
    await expectAPIError(
      A.beta.assistants.create({ model: 'gpt-4o', tools: [{ type: 'code_interpreter' }], tool_resources: tr }),
      OpenAI.BadRequestError,
      400,
      {},
    );
  });
});
