// The cleanup pass the timer runs: for every batch endpoint a model route targets, delete the
// deployments batchpilot replaced or discarded once their keep period has passed — never the current
// default, never the rollback target, never one a newer run has touched (src/model/cleanupPlan.ts
// decides). Each deletion is waited on and recorded in the promotion ledger; one endpoint's trouble is
// logged and does not stop the others.
import type { InvocationContext } from '@azure/functions';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import { workspaceClient } from '../azure/workspaceClient';
import { classifyAzureError } from '../azure/errorClassification';
import { CleanupDecision, planDeploymentCleanup } from '../model/cleanupPlan';
import { readLedger, recordLedgerEntry } from '../azure/promotionLedger';

export interface EndpointCleanup {
  workspaceId: string;
  endpoint: string;
  routeName: string;
  deleted: string[];
  kept: CleanupDecision[];
  error?: string;
}

export async function cleanUpReplacedDeployments(context: InvocationContext, now: Date = new Date()): Promise<EndpointCleanup[]> {
  const settings = appSettings();
  const seen = new Set<string>();
  const results: EndpointCleanup[] = [];
  const passId = `cleanup-${now.toISOString()}`;
  for (const route of appRoutes().modelRoutes) {
    const workspaceId = route.target.workspaceId ?? settings.workspaceId;
    const endpoint = route.target.endpoint;
    const key = `${workspaceId.toLowerCase()}|${endpoint.toLowerCase()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const result: EndpointCleanup = { workspaceId, endpoint, routeName: route.name, deleted: [], kept: [] };
    results.push(result);
    try {
      const ws = workspaceClient(workspaceId);
      const [ledger, ep, deployments] = await Promise.all([readLedger(workspaceId, endpoint), ws.getBatchEndpoint(endpoint), ws.listBatchDeployments(endpoint)]);
      const plan = planDeploymentCleanup(
        ledger,
        deployments.map((d) => ({
          name: d.name ?? '',
          provisioningState: d.properties.provisioningState,
          lastModifiedAt: d.systemData?.lastModifiedAt ? new Date(d.systemData.lastModifiedAt).toISOString() : undefined,
          model: (d.properties.model as { assetId?: string } | undefined)?.assetId,
        })),
        ep.defaultDeployment,
        now,
      );
      for (const decision of plan) {
        if (decision.action === 'keep') {
          result.kept.push(decision);
          continue;
        }
        await ws.deleteBatchDeployment(endpoint, decision.deployment);
        result.deleted.push(decision.deployment);
        await recordLedgerEntry({
          kind: 'cleanup',
          workspaceId,
          endpoint,
          at: new Date().toISOString(),
          runId: passId,
          routeName: decision.entry?.routeName ?? route.name,
          fromDeployment: decision.deployment,
          fromModel: decision.entry?.fromModel,
          by: 'cleanup',
          reason: decision.reason,
        });
        context.log(JSON.stringify({ endpoint, deployment: decision.deployment, message: `Deleted deployment '${decision.deployment}' of ${endpoint}: ${decision.reason}.` }));
      }
    } catch (err) {
      const c = classifyAzureError(err);
      result.error = c.message;
      context.error(JSON.stringify({ endpoint, failureClass: c.failureClass, message: `Cleanup of batch endpoint ${endpoint} stopped: ${c.message}` }));
    }
  }
  return results;
}
