// The URLs the Durable extension hands to clients — in the `durableClient` binding (creation and
// management URL templates) and in createCheckStatusResponse payloads — pointing at this engine's
// routes on the local host, each carrying the durabletask_extension system key as the extension's do.
export const DURABLE_TASK_ROUTE_PREFIX = '/runtime/webhooks/durabletask/';
/** The placeholder the extension puts where an instance ID goes in management URL templates. */
export const INSTANCE_ID_PLACEHOLDER = 'INSTANCEID';

export interface ManagementUrls {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  rewindPostUri: string;
  purgeHistoryDeleteUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

export interface ClientBindingData {
  taskHubName: string;
  creationUrls: { createNewInstancePostUri: string; waitOnNewInstancePostUri: string };
  managementUrls: ManagementUrls;
  baseUrl: string;
  requiredQueryStringParameters: string;
  httpBaseUrl: string;
  maxGrpcMessageSizeInBytes: number;
  grpcHttpClientTimeout: string;
}

export class ManagementUrlBuilder {
  /** clientBindingJson() by task hub. */
  readonly #bindingJson = new Map<string, string>();

  constructor(
    private readonly hostBaseUrl: string,
    private readonly taskHubName: string,
    private readonly systemKey: string | undefined,
  ) {}

  get webhookBase(): string {
    return `${this.hostBaseUrl.replace(/\/+$/, '')}${DURABLE_TASK_ROUTE_PREFIX.replace(/\/$/, '')}`;
  }

  get requiredQueryString(): string {
    return this.systemKey ? `code=${encodeURIComponent(this.systemKey)}` : '';
  }

  #query(extra?: string): string {
    const parts = [extra, `taskHub=${encodeURIComponent(this.taskHubName)}`, 'connection=Storage', this.requiredQueryString].filter(Boolean);
    return parts.join('&');
  }

  forInstance(instanceId: string): ManagementUrls {
    const id = encodeURIComponent(instanceId);
    const base = `${this.webhookBase}/instances/${id}`;
    return {
      id: instanceId,
      statusQueryGetUri: `${base}?${this.#query()}`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?${this.#query()}`,
      terminatePostUri: `${base}/terminate?${this.#query('reason={text}')}`,
      rewindPostUri: `${base}/rewind?${this.#query('reason={text}')}`,
      purgeHistoryDeleteUri: `${base}?${this.#query()}`,
      suspendPostUri: `${base}/suspend?${this.#query('reason={text}')}`,
      resumePostUri: `${base}/resume?${this.#query('reason={text}')}`,
    };
  }

  /** clientBinding() as JSON, naming `taskHubName` instead where given: built once per task hub (it never changes). */
  clientBindingJson(taskHubName?: string): string {
    const hub = taskHubName ?? this.taskHubName;
    let text = this.#bindingJson.get(hub);
    if (text === undefined) {
      text = JSON.stringify({ ...this.clientBinding(), taskHubName: hub });
      this.#bindingJson.set(hub, text);
    }
    return text;
  }

  clientBinding(): ClientBindingData {
    const managementUrls = this.forInstance(INSTANCE_ID_PLACEHOLDER);
    const code = this.requiredQueryString ? `?${this.requiredQueryString}` : '';
    return {
      taskHubName: this.taskHubName,
      creationUrls: {
        createNewInstancePostUri: `${this.webhookBase}/orchestrators/{functionName}[/{instanceId}]${code}`,
        waitOnNewInstancePostUri: `${this.webhookBase}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}${code ? `&${this.requiredQueryString}` : ''}`,
      },
      managementUrls,
      baseUrl: this.webhookBase,
      requiredQueryStringParameters: this.requiredQueryString,
      // No rpcBaseUrl: in Azure it names a keyless listener reachable only inside the instance; the
      // library adds no key to RPC calls, so here the client uses the keyed management URLs instead.
      httpBaseUrl: this.webhookBase,
      maxGrpcMessageSizeInBytes: 0,
      grpcHttpClientTimeout: '00:01:40',
    };
  }
}
