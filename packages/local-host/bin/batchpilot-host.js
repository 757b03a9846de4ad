#!/usr/bin/env node
// The batchpilot-host command: runs the compiled CLI (dist/host/cli.js). This file is in the
// repository so that `npm ci` can link the command before anything is built.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const cli = path.join(__dirname, '..', 'dist', 'host', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`batchpilot-host is not built yet (${cli} is missing): run npm run build (in the repository root, or with -w packages/local-host).\n`);
  process.exit(1);
}
require(cli);
