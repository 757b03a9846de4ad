// The Azure ML steps of a model promotion and a rollback: find the endpoint's default (the baseline) and
// name the candidate deployment, deploy the candidate from the baseline's settings with the new model
// version (waiting on Azure ML's long-running operation), switch the endpoint's default — refusing
// when the default is not what the run saw — and check what a rollback would restore. Every step is
// safe to repeat: a repeated deploy adopts what this run already provisioned, a repeated switch finds
// it made. None of them ever writes to the default deployment itself.
import type { InvocationContext } from '@azure/functions';
import type { BatchDeployment, BatchDeploymentProperties } from '@azure/arm-machinelearning';
import { asActivityResult } from './activityResults';
import type {
  ActivityResult,
  DeployedModelCandidate,
  DeployModelCandidateInput,
  ModelRollbackTarget,
  ReadModelRollbackTargetInput,
  RecordModelLedgerEntryInput,
  ResolvedModelCandidate,
  ResolveModelCandidateInput,
  SwitchDefaultDeploymentInput,
  SwitchedDefaultDeployment,
} from './contracts';
import { workspaceClient } from '../azure/workspaceClient';
import { PermanentError, TransientError } from '../azure/errorClassification';
import { candidateDeploymentName } from '../model/candidateNaming';
import { readLedger, recordLedgerEntry } from '../azure/promotionLedger';
import { rollbackTargetOf } from '../model/ledgerEntries';
import { RUN_TAG } from '../domain/runIds';

/** Tags batchpilot puts on the deployments it creates, so they can be recognised in the portal. */
const CANDIDATE_TAGS = { runId: RUN_TAG.runId, model: RUN_TAG.model, baseline: RUN_TAG.baseline } as const;

/** Settings a candidate takes from the baseline: everything that says how to score, not what with. */
const COPIED_PROPERTIES = [
  'codeConfiguration',
  'environmentId',
  'environmentVariables',
  'properties',
  'compute',
  'errorThreshold',
  'loggingLevel',
  'maxConcurrencyPerInstance',
  'miniBatchSize',
  'outputAction',
  'outputFileName',
  'resources',
  'retrySettings',
] as const satisfies ReadonlyArray<keyof BatchDeploymentProperties>;

const SETTLED = ['succeeded', 'failed', 'canceled'];

function modelOf(deployment: BatchDeployment): string | undefined {
  const model = deployment.properties.model as { assetId?: string } | undefined;
  return model?.assetId;
}

function same(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

function isNotFound(err: unknown): boolean {
  return err instanceof PermanentError && err.details.statusCode === 404;
}

async function findDeployment(workspaceId: string, endpoint: string, deployment: string): Promise<BatchDeployment | undefined> {
  try {
    return await workspaceClient(workspaceId).getBatchDeployment(endpoint, deployment);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function resolveModelCandidate(input: ResolveModelCandidateInput, context: InvocationContext): Promise<ActivityResult<ResolvedModelCandidate>> {
  return asActivityResult(context, input.runId, `Resolving the baseline of batch endpoint ${input.endpoint}`, async () => {
    const ws = workspaceClient(input.workspaceId);
    const ep = await ws.getBatchEndpoint(input.endpoint);
    if (!ep.defaultDeployment) {
      throw new PermanentError(`Batch endpoint '${input.endpoint}' has no default deployment, so there is no baseline to compare ${input.modelName}:${input.modelVersion} with. Make a deployment the default first.`);
    }
    const [baseline, model] = await Promise.all([ws.getBatchDeployment(input.endpoint, ep.defaultDeployment), ws.getModelVersion(input.modelName, input.modelVersion)]);
    const name = candidateDeploymentName(input.naming, input.modelName, input.modelVersion, ep.defaultDeployment);
    if (!name.ok) throw new PermanentError(name.reason);
    context.log(JSON.stringify({ runId: input.runId, message: `Baseline is '${ep.defaultDeployment}' (${modelOf(baseline) ?? 'no model'}); the candidate goes to '${name.name}'.` }));
    return { endpointId: ep.id, baselineDeployment: ep.defaultDeployment, baselineModel: modelOf(baseline), candidateDeployment: name.name, modelId: model.id };
  });
}

export async function deployModelCandidate(input: DeployModelCandidateInput, context: InvocationContext): Promise<ActivityResult<DeployedModelCandidate>> {
  return asActivityResult(context, input.runId, `Deploying ${input.modelName}:${input.modelVersion} to '${input.candidateDeployment}' of batch endpoint ${input.endpoint}`, async () => {
    const ws = workspaceClient(input.workspaceId);
    // The default may have changed since the candidate was named: never deploy over it.
    const ep = await ws.getBatchEndpoint(input.endpoint);
    if (same(ep.defaultDeployment, input.candidateDeployment)) {
      throw new PermanentError(`Deployment '${input.candidateDeployment}' has become the default of batch endpoint '${input.endpoint}' since this run started; a candidate is never deployed over the default.`);
    }
    const existing = await findDeployment(input.workspaceId, input.endpoint, input.candidateDeployment);
    const state = existing?.properties.provisioningState?.toLowerCase();
    if (existing && state && !SETTLED.includes(state)) {
      throw new TransientError(`Deployment '${input.candidateDeployment}' of batch endpoint '${input.endpoint}' is ${existing.properties.provisioningState}; waiting for that operation to finish.`);
    }
    if (existing && state === 'succeeded' && existing.tags?.[CANDIDATE_TAGS.runId] === input.runId && same(modelOf(existing), input.modelId)) {
      context.log(JSON.stringify({ runId: input.runId, message: `Deployment '${input.candidateDeployment}' already serves ${input.modelName}:${input.modelVersion} for this run.` }));
      return { deployment: input.candidateDeployment, provisioningState: existing.properties.provisioningState, adopted: true };
    }
    const baseline = await ws.getBatchDeployment(input.endpoint, input.baselineDeployment);
    const properties: BatchDeploymentProperties = {
      description: `Candidate ${input.modelName}:${input.modelVersion}, deployed by batchpilot run ${input.runId} with the settings of '${input.baselineDeployment}'.`,
      model: { referenceType: 'Id', assetId: input.modelId },
    };
    for (const key of COPIED_PROPERTIES) {
      const value = baseline.properties[key];
      if (value !== undefined && value !== null) (properties as Record<string, unknown>)[key] = value;
    }
    const body: BatchDeployment = {
      location: baseline.location,
      kind: baseline.kind,
      identity: baseline.identity,
      sku: baseline.sku,
      tags: { [CANDIDATE_TAGS.runId]: input.runId, [CANDIDATE_TAGS.model]: `${input.modelName}:${input.modelVersion}`, [CANDIDATE_TAGS.baseline]: input.baselineDeployment },
      properties,
    };
    const created = await ws.createOrUpdateBatchDeployment(input.endpoint, input.candidateDeployment, body);
    context.log(JSON.stringify({ runId: input.runId, message: `Deployment '${input.candidateDeployment}' serves ${input.modelName}:${input.modelVersion} (${created.properties.provisioningState ?? 'provisioned'}).` }));
    return { deployment: input.candidateDeployment, provisioningState: created.properties.provisioningState, adopted: false };
  });
}

export async function switchDefaultDeployment(input: SwitchDefaultDeploymentInput, context: InvocationContext): Promise<ActivityResult<SwitchedDefaultDeployment>> {
  return asActivityResult(context, input.runId, `Making '${input.to}' the default deployment of batch endpoint ${input.endpoint}`, async () => {
    const ws = workspaceClient(input.workspaceId);
    const ep = await ws.getBatchEndpoint(input.endpoint);
    if (same(ep.defaultDeployment, input.to)) {
      context.log(JSON.stringify({ runId: input.runId, message: `'${input.to}' is already the default of ${input.endpoint}.` }));
      return { previous: input.expectedCurrent, current: input.to, alreadySwitched: true };
    }
    if (!same(ep.defaultDeployment, input.expectedCurrent)) {
      throw new PermanentError(
        `The default deployment of batch endpoint '${input.endpoint}' is now '${ep.defaultDeployment ?? 'none'}', not '${input.expectedCurrent}' as when this run started: someone changed it meanwhile, so batchpilot leaves it alone.`,
      );
    }
    const target = await findDeployment(input.workspaceId, input.endpoint, input.to);
    if (!target) throw new PermanentError(`Deployment '${input.to}' of batch endpoint '${input.endpoint}' no longer exists.`);
    if (target.properties.provisioningState?.toLowerCase() !== 'succeeded') {
      throw new PermanentError(`Deployment '${input.to}' of batch endpoint '${input.endpoint}' is ${target.properties.provisioningState ?? 'in an unknown state'}, not Succeeded; it cannot become the default.`);
    }
    if (input.expectedModel && !same(modelOf(target), input.expectedModel)) {
      const by = target.tags?.[CANDIDATE_TAGS.runId];
      throw new PermanentError(
        `Deployment '${input.to}' of batch endpoint '${input.endpoint}' now serves ${modelOf(target) ?? 'no model'}${by ? ` (deployed by run ${by})` : ''}, not ${input.expectedModel} which this run scored and judged; it is not made the default.`,
      );
    }
    const updated = await ws.setDefaultDeployment(input.endpoint, input.to);
    context.log(JSON.stringify({ runId: input.runId, message: `Default deployment of ${input.endpoint}: '${input.expectedCurrent}' → '${updated.defaultDeployment}'.` }));
    return { previous: input.expectedCurrent, current: input.to, alreadySwitched: false };
  });
}

export async function recordModelLedgerEntry(input: RecordModelLedgerEntryInput, context: InvocationContext): Promise<ActivityResult<{ recorded: true }>> {
  return asActivityResult(context, input.runId, `Recording the ${input.kind} on batch endpoint ${input.endpoint}`, async () => {
    await recordLedgerEntry(input);
    return { recorded: true as const };
  });
}

export async function readModelRollbackTarget(input: ReadModelRollbackTargetInput, context: InvocationContext): Promise<ActivityResult<ModelRollbackTarget>> {
  return asActivityResult(context, undefined, `Reading what a rollback of batch endpoint ${input.endpoint} restores`, async () => {
    const found = rollbackTargetOf(await readLedger(input.workspaceId, input.endpoint), input.endpoint);
    if (!found.ok) throw new PermanentError(found.reason);
    if (found.promotion.runId !== input.promotionRunId) {
      throw new PermanentError(`The latest promotion on batch endpoint '${input.endpoint}' is now run ${found.promotion.runId}, not ${input.promotionRunId} which this rollback was asked to undo; ask again.`);
    }
    const ws = workspaceClient(input.workspaceId);
    const ep = await ws.getBatchEndpoint(input.endpoint);
    if (!same(ep.defaultDeployment, found.current)) {
      throw new PermanentError(
        `The default deployment of batch endpoint '${input.endpoint}' is '${ep.defaultDeployment ?? 'none'}', not '${found.current}' as promotion ${found.promotion.runId} left it: someone changed it since, and batchpilot does not roll back over a change it did not make.`,
      );
    }
    const target = await findDeployment(input.workspaceId, input.endpoint, found.target);
    if (!target) throw new PermanentError(`The previous default '${found.target}' of batch endpoint '${input.endpoint}' no longer exists, so it cannot be restored.`);
    const targetModel = modelOf(target);
    if (found.promotion.fromModel && !same(targetModel, found.promotion.fromModel)) {
      throw new PermanentError(
        `The previous default '${found.target}' now serves ${targetModel ?? 'no model'}, not ${found.promotion.fromModel} which it served before promotion ${found.promotion.runId} (a later candidate reused the slot); restoring it would not restore the previous model.`,
      );
    }
    return { promotion: found.promotion, target: found.target, current: found.current, targetModel };
  });
}
