// Refusals of the engine's client operations, carrying the HTTP status the RPC surface answers with.
export class EngineRequestError extends Error {
  constructor(readonly status: 400 | 404 | 409 | 410 | 412 | 413, message: string) {
    super(message);
    this.name = 'EngineRequestError';
  }
}
