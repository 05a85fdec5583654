// `npm run build:ui`: the reviewer UI's static files in dist/ui, which src/web/assets.ts serves
// under /ui. esbuild bundles src/main.tsx (Preact) into one ES2022 module; index.html and app.css
// are copied as they are. Paths come from this file's location, so it works from any directory.
// The output holds no data and no inline script or style: the page runs under a strict CSP.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const here = import.meta.dirname;
const src = join(here, 'src');
const out = resolve(here, '..', 'dist', 'ui');
const assets = join(out, 'assets');

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

await build({
  entryPoints: [join(src, 'main.tsx')],
  outfile: join(assets, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(here, 'tsconfig.json'),
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

await copyFile(join(src, 'index.html'), join(out, 'index.html'));
await copyFile(join(src, 'app.css'), join(assets, 'app.css'));
