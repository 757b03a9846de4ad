// One in-memory Azurite for the run, shared with every other project that names the same setup.
module.exports = require('@batchpilot/local-platform').startRunAzurite;
