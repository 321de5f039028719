#!/usr/bin/env node
// Entry point of the `flowtrail` command. Commands load the TypeScript sources through tsx, except
// `start`, the long-running product, which runs from a plain-JavaScript bundle of bin/flowtrail.ts
// built into a cache (common/js-bundle.js): tsx's module hooks run on a thread with a V8 heap of its
// own, ~50 MB of start's resident memory (goal: 300 MB apart from chdb's). A failed build (said on
// stderr) runs `start` through tsx too.
import { pathToFileURL } from 'node:url';

let bundle;
if (process.argv[2] === 'start') {
  try {
    const { bundledEntry } = await import('../common/js-bundle.js');
    bundle = await bundledEntry(new URL('./flowtrail.ts', import.meta.url));
  } catch (err) {
    process.stderr.write(`flowtrail: no JavaScript bundle (${err?.message ?? err}); running through tsx\n`);
  }
}
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./flowtrail.ts');
}
