// A node:test reporter for scripts/test.js: one line per test that begins or ends, so that when a
// file has to be killed for running past its time the runner can name the tests still under way.
// Node prints only finished tests, and (on Node 20) --test-timeout neither works without --test
// nor names the test that hung.
export const PREFIX = 'plumage-test-progress';

export default async function* progress(source) {
  for await (const event of source) {
    if (event.type === 'test:dequeue') yield `${PREFIX} begin ${JSON.stringify(event.data.name)}\n`;
    else if (event.type === 'test:complete') yield `${PREFIX} end ${JSON.stringify(event.data.name)}\n`;
  }
}
