// Writing kubegate's own state files (PKI keys, the token store) so that a reader or a crash never
// sees half a file: write a temp file beside the target, fsync it, rename it over the target.
// Input: a path, the content and a mode. Output: the file, replaced in one step. Must never leave
// a secret readable by others, even for a moment: the temp file is created with `mode` (0600 for
// keys and tokens) and the rename keeps it, whatever the old file's mode was.

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
