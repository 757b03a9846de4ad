// Waits for an outcome instead of sleeping a fixed time: tests assert on what happened, never on how long
// it took. The deadline only turns a hang into a readable failure.
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  description: string,
  timeoutInMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${description}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
