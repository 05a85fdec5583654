// The reviewer UI's static files under /ui: dist/ui as `npm run build:ui` writes it (index.html
// and assets/). Every /ui path that is not an asset gets index.html, and the page's own router
// shows the view. Input: GET or HEAD of a /ui path. Output: the file, with headers that keep the
// page from being framed, sniffed or made to run anything but its own script.
// Must never serve a file outside dist/ui (asset names are a fixed character set, no folders),
// and never answer anything but GET and HEAD. The files hold no data: the page fetches that from
// /kubegate/v1 once signed in.
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { KubegateError } from '../errors.js';
import { allowMethods, type ApiResponse } from './http.js';

export const UI_PREFIX = '/ui';

/** The strictest policy the page works under: its own script and style, and fetches to itself. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

interface Built {
  readonly index: Asset;
  /** Files of dist/ui/assets by name. */
  readonly files: ReadonlyMap<string, Asset>;
}

export interface UiAssets {
  /** Answers one GET/HEAD under /ui. */
  serve(method: string, path: string, res: ApiResponse): Promise<void>;
}

/** True for the paths the UI owns: /ui and everything under /ui/. */
export function isUiPath(path: string): boolean {
  return path === UI_PREFIX || path.startsWith(`${UI_PREFIX}/`);
}

export function createUiAssets(dir: string): UiAssets {
  // Read once, on first use: a few hundred kilobytes, and a rebuild means a restart anyway.
  let loaded: Promise<Built | null> | null = null;
  const load = (): Promise<Built | null> => (loaded ??= readBuilt(dir));

  return {
    async serve(method, path, res) {
      allowMethods(method, ['GET', 'HEAD']);
      const built = await load();
      if (built === null) {
        throw new KubegateError(
          'KG_UI_NOT_BUILT',
          `kubegate's web UI is not built (${dir} is missing). Run \`npm run build\` and restart kubegate; the API under /kubegate/v1 works without it.`,
        );
      }
      const sub = path.slice(UI_PREFIX.length);
      let asset = built.index;
      if (sub.startsWith('/assets/')) {
        const name = sub.slice('/assets/'.length);
        const file = ASSET_NAME.test(name) ? built.files.get(name) : undefined;
        if (file === undefined) throw new KubegateError('KG_API_NOT_FOUND', 'no such UI asset');
        asset = file;
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        'content-length': asset.body.length,
        // Names are not content-hashed: revalidate (cheap) rather than run a stale script.
        'cache-control': 'no-cache',
      });
      if (method === 'HEAD') res.end();
      else res.end(asset.body);
    },
  };
}

async function readBuilt(dir: string): Promise<Built | null> {
  try {
    const index = { body: await readFile(join(dir, 'index.html')), type: TYPES['.html']! };
    const files = new Map<string, Asset>();
    for (const entry of await readdir(join(dir, 'assets'), { withFileTypes: true })) {
      const type = TYPES[extname(entry.name)];
      if (!entry.isFile() || type === undefined || !ASSET_NAME.test(entry.name)) continue;
      files.set(entry.name, { body: await readFile(join(dir, 'assets', entry.name)), type });
    }
    return { index, files };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
