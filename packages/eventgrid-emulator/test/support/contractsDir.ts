// Where this package's tests find the upstream API examples they compare against: a copy inside the
// package (test/contracts, SOURCES.md there says where each file comes from).
import * as path from 'node:path';

export const CONTRACTS_DIR = path.resolve(__dirname, '..', 'contracts');
