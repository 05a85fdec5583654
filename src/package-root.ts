// The package's root folder, found from this file whether it runs from source (src/) or compiled
// (dist/src/): the nearest folder above holding kubegate's package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kubegate')
      return dir;
    if (dirname(dir) === dir) throw new Error(`kubegate's package.json not found above ${from}`);
  }
}
