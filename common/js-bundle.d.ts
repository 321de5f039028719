/** Types of common/js-bundle.js (plain JavaScript: bin/flowtrail.js loads it without tsx). */

/** Where bundles are cached (`node_modules/.cache/flowtrail/`). */
export declare const bundleCacheDir: string;
/** The cached bundle's path for an entry (a .ts file of this project). */
export declare function bundlePath(entry: URL): string;
/** True when the cached bundle exists and none of the files it was built from changed since. */
export declare function bundleIsFresh(entry: URL): boolean;
/**
 * The path of a plain-JavaScript bundle of `entry` (an ES module), built now when missing or stale
 * (~0.1 s for the reader worker, ~0.7 s for the CLI). Rejects when it cannot build (esbuild missing, a
 * read-only install, a module reading `import.meta`): callers then load the TypeScript through tsx.
 */
export declare function bundledEntry(entry: URL): Promise<string>;
