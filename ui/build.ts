/**
 * `npm run ui:build`: builds the web UI into ui/dist unconditionally.
 * @module
 */
import { buildUi, uiStaticDir } from './serve.ts';

await buildUi();
console.log(`ui built into ${uiStaticDir()}`);
