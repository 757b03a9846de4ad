// The app's one identity: DefaultAzureCredential (the user-assigned managed identity in Azure; the
// local stack's managed-identity endpoint locally, through the same IDENTITY_ENDPOINT protocol).
// Created on first use so that cold start does not pay for it.
import type { TokenCredential } from '@azure/core-auth';

let credential: TokenCredential | undefined;

export function appCredential(): TokenCredential {
  if (!credential) {
    const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
    const clientId = process.env.AZURE_CLIENT_ID || undefined;
    credential = new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  }
  return credential;
}

export const ARM_SCOPE = 'https://management.azure.com/.default';
export const ML_DATA_PLANE_SCOPE = 'https://ml.azure.com/.default';
