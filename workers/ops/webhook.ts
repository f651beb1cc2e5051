export interface WebhookLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export class WebhookError extends Error {
  override name = "WebhookError";
  constructor(readonly url: string, readonly attempts: number, message: string) {
    super(`posting to ${url} failed after ${attempts} attempt(s): ${message}`);
  }
}

/**
 * Posts JSON bodies to one URL, in order, one at a time, each retried with
 * exponential backoff (baseDelayMs × 2^n, capped) on network errors, 429 and 5xx;
 * another 4xx is the receiver refusing the body, so it is not retried. A body that
 * still fails is logged with the reason and dropped: later state changes must not
 * wait behind it forever.
 */
export class WebhookPoster {
  private queue: Promise<void> = Promise.resolve();
  delivered = 0;
  failed = 0;

  constructor(
    readonly url: string,
    private readonly options: { log: WebhookLog; attempts?: number; baseDelayMs?: number; maxDelayMs?: number; timeoutMs?: number; sleep?: (ms: number) => Promise<void> },
  ) {}

  /** Queues a post; the promise settles when it is delivered or given up (never rejects). */
  post(body: object): Promise<void> {
    this.queue = this.queue.then(() =>
      this.deliver(body).then(
        () => void this.delivered++,
        (error: WebhookError) => {
          this.failed++;
          this.options.log.error({ err: error.message, body }, "webhook post dropped");
        },
      ),
    );
    return this.queue;
  }

  /** Waits for every queued post. */
  drain(): Promise<void> {
    return this.queue;
  }

  private async deliver(body: object): Promise<void> {
    const attempts = this.options.attempts ?? 6;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        last = `HTTP ${response.status}`;
        if (response.status !== 429 && response.status < 500) throw new WebhookError(this.url, attempt, `${last} (not retried)`);
      } catch (error) {
        if (error instanceof WebhookError) throw error;
        last = (error as Error).message;
      }
      if (attempt < attempts) {
        const delay = Math.min((this.options.baseDelayMs ?? 1_000) * 2 ** (attempt - 1), this.options.maxDelayMs ?? 60_000);
        this.options.log.warn({ url: this.url, attempt, err: last, retryInMs: delay }, "webhook post failed; retrying");
        await sleep(delay);
      }
    }
    throw new WebhookError(this.url, attempts, last);
  }
}
