// The app's root folder (where host.json is), found by walking up from a module, so the same code
// works from src/ (tests), dist/ (the local host) and the deployed package.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'host.json')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No app root (a folder with host.json and package.json) above ${from}.`);
  }
}
