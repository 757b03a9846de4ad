// Where the tests find the upstream API contracts (swagger and examples) they hold the emulators and
// the event parsers to: a copy inside the repository, so a clone has everything it tests against.
import * as path from 'node:path';

/** test/contracts; SOURCES.md there names the upstream repository, path, version and licence of each file. */
export const CONTRACTS_DIR = path.resolve(__dirname, '..', 'contracts');
