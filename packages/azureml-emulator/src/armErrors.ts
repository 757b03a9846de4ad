// Errors the Azure ML emulator answers with, in ARM's shape (`{ "error": { "code", "message", ... } }`)
// and with the status codes Azure uses, so that clients classify them exactly as they would in Azure.
import type { JsonObject } from './wireTypes';

export interface ArmErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extras: { target?: string; details?: ArmErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ArmError';
  }

  toBody(): JsonObject {
    const error: JsonObject = { code: this.code, message: this.message };
    if (this.extras.target) error.target = this.extras.target;
    if (this.extras.details?.length) {
      error.details = this.extras.details.map((d) => {
        const detail: JsonObject = { code: d.code, message: d.message };
        if (d.target) detail.target = d.target;
        return detail;
      });
    }
    return { error };
  }
}

/** ARM's wording for a missing resource, naming the type path under the resource group. */
export function resourceNotFound(resourceTypePath: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceTypePath}' under resource group '${resourceGroup}' was not found. ` +
      'Check the name and the resource group, or create the resource first.',
  );
}

/** A request the service understood but refuses: Azure ML reports these as `UserError`. */
export function userError(message: string, details?: ArmErrorDetail[], status = 400): ArmError {
  return new ArmError(status, 'UserError', message, { details });
}

export function invalidRequestContent(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${message}`);
}
