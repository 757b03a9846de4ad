// Route defaults that orchestrations need at replay time: plain constants with no imports, so control
// flow can read them without loading the routes file's parser (lint allows this one config module).

/** How a run's ending (its run record and outcome event) is retried while storage or the topic is down. */
export const DEFAULT_EVENTS_RETRY = { minIntervalInSeconds: 5, maxIntervalInSeconds: 300, timeoutInMinutes: 24 * 60 };

/** Manifest limits: a manifest is read whole and each entry is looked up, so both are capped. */
export const DEFAULT_MAX_MANIFEST_SIZE_IN_BYTES = 1024 * 1024;
export const DEFAULT_MAX_MANIFEST_FILES = 5000;
