// Stops the run's Azurite after every test of the run has finished.
module.exports = require('@batchpilot/local-platform').stopRunAzurite;
