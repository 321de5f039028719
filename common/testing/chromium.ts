/**
 * The one way tests (and test helpers) launch a browser: the Chromium build that `npm install` brings in
 * `@sparticuz/chromium`, so a fresh machine needs no Debian package; Debian's /usr/bin/chromium only when
 * that package is not installed.
 * @module
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createBrotliDecompress } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from './fixtures.ts';

/** Where a usable Chromium is and the environment its process needs. */
export interface ChromiumInstall {
  executablePath: string;
  /** Extra environment for the browser process (bundled libraries and fonts). */
  env: Record<string, string>;
  source: 'npm' | 'system';
}

const execFileAsync = promisify(execFile);
const systemChromium = '/usr/bin/chromium';

/**
 * Flags for this closed network: no sandbox (tests run as root), nothing that phones home or updates
 * itself. Playwright adds --headless and gives every launch a fresh temporary --user-data-dir.
 */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

function npmPackageDir(): string | undefined {
  try {
    // The package's exports hide package.json; its entry point sits two folders below the root.
    const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
    return path.resolve(path.dirname(entry), '../..');
  } catch {
    return undefined;
  }
}

async function untarBrotli(archive: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  // Through a file, not a pipe: tar stops reading at the end-of-archive blocks and would cut the pipe.
  const tarFile = `${into}.tar`;
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  await execFileAsync('tar', ['-x', '-f', tarFile, '-C', into]);
  await rm(tarFile);
}

/**
 * Unpacks the package's brotli archives once per package version into node_modules/.cache. The package's
 * own executablePath() unpacks into a fixed /tmp/chromium and treats a half-written file as done, which
 * breaks when two test processes (or two checkouts on one machine) unpack at once; here each unpacks into
 * its own staging folder and the first rename wins.
 */
async function unpackNpmChromium(packageDir: string): Promise<string> {
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const cacheRoot = path.join(repoRoot, 'node_modules', '.cache', 'flowtrail-chromium');
  const target = path.join(cacheRoot, version);
  if (existsSync(path.join(target, 'chromium'))) return target;
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(path.join(cacheRoot, `${version}.staging-`));
  try {
    const bin = path.join(packageDir, 'bin');
    await pipeline(
      createReadStream(path.join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(path.join(staging, 'chromium'), { mode: 0o755 }),
    );
    // SwiftShader sits beside the binary, where Chromium looks for it; al2023 carries NSS, NSPR and
    // expat, which a machine without Debian's chromium package does not have.
    await untarBrotli(path.join(bin, 'swiftshader.tar.br'), staging);
    await untarBrotli(path.join(bin, 'al2023.tar.br'), path.join(staging, 'al2023'));
    await untarBrotli(path.join(bin, 'fonts.tar.br'), path.join(staging, 'fonts'));
    // The packaged fonts.conf points at Lambda's folders; this one points at the unpacked fonts and
    // the machine's own, with its cache inside the unpacked tree.
    await writeFile(
      path.join(staging, 'fonts.conf'),
      [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
        '<fontconfig>',
        `  <dir>${path.join(target, 'fonts', 'fonts')}</dir>`,
        '  <dir>/usr/share/fonts</dir>',
        `  <cachedir>${path.join(target, 'fonts-cache')}</cachedir>`,
        '</fontconfig>',
        '',
      ].join('\n'),
    );
    try {
      await rename(staging, target);
    } catch (error) {
      // Another process finished first: its copy is complete, ours is dropped.
      if (!existsSync(path.join(target, 'chromium'))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}

/** Finds a Chromium: the npm package's first, Debian's if the package is absent; says how to get one otherwise. */
export async function locateChromium(): Promise<ChromiumInstall> {
  const packageDir = npmPackageDir();
  if (packageDir) {
    const dir = await unpackNpmChromium(packageDir);
    const libs = path.join(dir, 'al2023', 'lib');
    return {
      executablePath: path.join(dir, 'chromium'),
      env: {
        LD_LIBRARY_PATH: [libs, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':'),
        FONTCONFIG_FILE: path.join(dir, 'fonts.conf'),
      },
      source: 'npm',
    };
  }
  if (existsSync(systemChromium)) return { executablePath: systemChromium, env: {}, source: 'system' };
  throw new Error(
    `no Chromium: @sparticuz/chromium is not installed (run npm install) and ${systemChromium} is absent`,
  );
}

/** Launches headless Chromium with the closed-network flags and a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  const install = await locateChromium();
  return chromium.launch({
    executablePath: install.executablePath,
    headless: true,
    args: [...chromiumArgs],
    env: { ...process.env, ...install.env } as Record<string, string>,
  });
}
