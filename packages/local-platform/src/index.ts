// What the local Functions host, the emulators and their tests share: development identity (a token
// issuer and a managed-identity endpoint), the local CA and trusting it, seeded HTTP faults, Azurite,
// and helpers for tests that run against these. Nothing here is deployed to Azure.
export { DEV_TENANT_ID, DEV_TOKEN_ISSUER, DevTokenIssuer, resourceFromScope } from './identity/devTokens';
export type { DevTokenClaims, TokenCheck } from './identity/devTokens';
export { createIdentityEndpoint } from './identity/identityEndpoint';
export type { IdentityEndpoint } from './identity/identityEndpoint';
export { ensureLocalCertificate, defaultCertificateDir } from './tls/localCertificate';
export type { LocalCertificate } from './tls/localCertificate';
export { agentTrusting, clientOptionsTrusting, localCaTrustPolicy } from './tls/localCaTrust';
export { HttpFaultInjector, emptyHttpFaultStats, spreadHttpFaults, validateHttpFaultSettings } from './faults/httpFaults';
export type { HttpFaultDecision, HttpFaultSettings, HttpFaultStats } from './faults/httpFaults';
export { seededRandom } from './faults/seededRandom';
export type { SeededRandom } from './faults/seededRandom';
export { startStorageFaultProxy } from './faults/storageFaultProxy';
export type { RunningStorageFaultProxy, StorageFaultProxyOptions } from './faults/storageFaultProxy';
export { AZURITE_ACCOUNT, azuriteConnectionString, azuriteSharedKey, startAzurite } from './azurite';
export type { AzuriteEndpoints, AzuriteOptions, RunningAzurite } from './azurite';
export { waitUntil } from './testing/waitUntil';
export { testAzurite, uniqueName } from './testing/testAzurite';
export { requestTrusting } from './testing/trustLocalCa';
export type { PlainResponse } from './testing/trustLocalCa';
export { startRunAzurite, stopRunAzurite } from './testing/jestAzurite';
