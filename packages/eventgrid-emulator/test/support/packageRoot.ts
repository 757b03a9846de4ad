// This package's folder, where its tests find their fixture apps (test/fixtures) and leave artifacts
// (test/artifacts, git-ignored).
import * as path from 'node:path';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
